// Large response bodies arrive intact while limpet reads server connections into reused
// buffers (lib/backend/reused-reads): clients that stop reading for a while (so that writes
// to them queue up and keep a read buffer busy) run beside clients reading at full speed,
// on kept-alive connections, with Content-Length and chunked bodies; every body is checked
// byte for byte against what the origin sent.
import t from 'tap';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const MIB = 1024 * 1024;

/** A body no two requests share: a xorshift stream seeded by `seed`. */
const bodyFor = (seed: number, size: number): Buffer => {
  const out = Buffer.allocUnsafe(size + 3);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out.subarray(0, size);
};

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * One client connection, read by hand so that it can stop reading entirely: each `fetch`
 * sends a GET and gives back the decoded body (Content-Length or chunked). With `stallMs`,
 * nothing is read for that long after the request went out.
 */
const rawClient = async (port: number) => {
  const sock = net.connect({ host: '127.0.0.1', port });
  await once(sock, 'connect');
  let pending: Buffer = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  let ended = false;
  sock.on('data', (c: Buffer) => {
    pending = pending.length === 0 ? c : Buffer.concat([pending, c]);
    waiter?.();
  });
  sock.on('end', () => {
    ended = true;
    waiter?.();
  });
  sock.on('error', () => undefined);
  /** Waits until `n` bytes are buffered, then takes them. */
  const take = async (n: number): Promise<Buffer> => {
    while (pending.length < n) {
      if (ended) throw new Error('connection closed early');
      await new Promise<void>((resolve) => (waiter = resolve));
      waiter = undefined;
    }
    const out = pending.subarray(0, n);
    pending = pending.subarray(n);
    return out;
  };
  const line = async (): Promise<string> => {
    for (;;) {
      const i = pending.indexOf('\r\n');
      if (i !== -1) return (await take(i + 2)).toString('latin1', 0, i);
      if (ended) throw new Error('connection closed early');
      await new Promise<void>((resolve) => (waiter = resolve));
      waiter = undefined;
    }
  };
  return {
    close: () => sock.destroy(),
    async fetch(path: string, stallMs: number): Promise<{ status: number; body: Buffer }> {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      if (stallMs > 0) {
        sock.pause();
        await new Promise((r) => setTimeout(r, stallMs));
        sock.resume();
      }
      const status = Number((await line()).split(' ')[1]);
      const headers = new Map<string, string>();
      for (let l = await line(); l !== ''; l = await line()) {
        const c = l.indexOf(':');
        headers.set(l.slice(0, c).toLowerCase(), l.slice(c + 1).trim());
      }
      if (headers.has('content-length')) return { status, body: Buffer.from(await take(Number(headers.get('content-length')))) };
      const parts: Buffer[] = [];
      for (let size = parseInt(await line(), 16); size > 0; size = parseInt(await line(), 16)) {
        parts.push(Buffer.from(await take(size)));
        await take(2);
      }
      await line(); // the empty trailer section
      return { status, body: Buffer.concat(parts) };
    },
  };
};

t.test('large bodies to slow and fast clients side by side', async (t) => {
  const origin = await startOrigin({
    name: 'o',
    t,
    handler: (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = bodyFor(Number(url.searchParams.get('seed')), Number(url.searchParams.get('size')));
      res.setHeader('X-Sha256', sha(body));
      // chunked: node:http writes each write() as one chunk
      if (url.pathname === '/chunked') {
        for (let i = 0; i < body.length; i += 100_000) res.write(body.subarray(i, i + 100_000));
        res.end();
      } else {
        res.setHeader('Content-Length', String(body.length));
        res.end(body);
      }
    },
  });
  const port = await freePort();
  await startProxy(t, `
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${origin.port}
`, { waitPorts: [port] });

  const stalls = [0, 400, 0, 250];
  const clients = await Promise.all(stalls.map(() => rawClient(port)));
  t.teardown(() => clients.forEach((c) => c.close()));
  const results = await Promise.all(clients.map(async (client, i) => {
    const stallMs = stalls[i]!;
    const got: { path: string; status: number; ok: boolean; length: number }[] = [];
    // Three requests per client on one connection: length, chunked, then length again.
    for (const [n, kind] of (['length', 'chunked', 'length'] as const).entries()) {
      const seed = i * 10 + n + 1;
      // Beyond what loopback socket buffers hold for a client that reads nothing, so that
      // writes queue in limpet; not a multiple of any read size.
      const size = (stallMs > 0 ? 8 : 2) * MIB + seed * 7;
      const path = `/${kind}?seed=${seed}&size=${size}`;
      const { status, body } = await client.fetch(path, stallMs);
      got.push({ path, status, ok: sha(body) === sha(bodyFor(seed, size)), length: body.length });
    }
    return got;
  }));
  for (const got of results) {
    for (const r of got) {
      t.equal(r.status, 200, `${r.path}: status`);
      t.ok(r.ok, `${r.path}: body intact (${r.length} bytes)`);
    }
  }
  // One connection per client reached the origin (keep-alive on both sides held).
  t.ok(origin.connections <= clients.length + 1, `origin connections: ${origin.connections}`);
});
