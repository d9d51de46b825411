// Every request and response fixture is sent through the proxy split in two at every byte
// offset (two writes 5 ms apart, Nagle off), and each result must equal the unsplit one: the
// engine's head scan, llhttp feeding and chunked framing do not depend on how bytes arrive.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { startOrigin, startRawOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const config = (port: number, originPort: number) => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${originPort}
`;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `parts` with a pause between them, then reads until the proxy closes (requests end with Connection: close). */
async function exchange(port: number, parts: Buffer[]): Promise<Buffer> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => {
    const timer = setTimeout(() => (socket.destroy(), resolve()), 4000);
    socket.on('close', () => (clearTimeout(timer), resolve()));
  });
  await new Promise((r) => socket.once('connect', r));
  for (const [i, p] of parts.entries()) {
    if (i > 0) await pause(5);
    if (p.length > 0) socket.write(p);
  }
  await closed;
  return Buffer.concat(chunks);
}

/** Runs `fn` for every offset 0..n, a few at a time. */
async function everyOffset(n: number, fn: (offset: number) => Promise<void>): Promise<void> {
  const width = 8;
  for (let start = 0; start <= n; start += width) {
    await Promise.all(Array.from({ length: Math.min(width, n + 1 - start) }, (_, i) => fn(start + i)));
  }
}

const REQUESTS: Record<string, string> = {
  'GET with odd and non-ASCII header values': 'GET /split?q=1&r=%20 HTTP/1.1\r\nHost: example\r\nX-Odd:  caf\xe9\t\xff \r\nCookie: a=b; c=d\r\nConnection: close\r\n\r\n',
  'POST with Content-Length': 'POST /cl HTTP/1.1\r\nHost: example\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world',
  'chunked POST with extensions and trailers': 'POST /chunked HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4;a=b\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n',
  'two pipelined requests': 'GET /one HTTP/1.1\r\nHost: example\r\n\r\nPOST /two HTTP/1.1\r\nHost: example\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
};

t.test('requests split at every byte offset give the same result', async (t) => {
  const origin = await startOrigin({
    name: 'o',
    t,
    handler: (req, res, body) => {
      res.sendDate = false;
      // What the origin saw, echoed back: headers in order and the (de-chunked) body and trailers.
      const seen = JSON.stringify([req.method, req.url, req.rawHeaders, body.toString('latin1'), req.rawTrailers]);
      res.writeHead(200, { 'Content-Length': Buffer.byteLength(seen) });
      res.end(seen);
    },
  });
  const port = await freePort();
  await startProxy(t, config(port, origin.port), { waitPorts: [port] });
  for (const [name, fixture] of Object.entries(REQUESTS)) {
    const bytes = Buffer.from(fixture, 'latin1');
    const reference = await exchange(port, [bytes]);
    t.match(reference.toString('latin1'), /^HTTP\/1\.1 200 OK/, `${name}: reference answer`);
    const mismatches: number[] = [];
    await everyOffset(bytes.length, async (k) => {
      const got = await exchange(port, [bytes.subarray(0, k), bytes.subarray(k)]);
      if (!got.equals(reference)) mismatches.push(k);
    });
    t.same(mismatches, [], `${name}: identical at all ${bytes.length + 1} offsets`);
  }
});

const RESPONSES: string[] = [
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Odd: caf\xe9\r\nContent-Length: 12\r\n\r\nhello world\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
];

t.test('responses split at every byte offset give the same result', async (t) => {
  const origin = await startRawOrigin((socket: Socket) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^GET \/(\d+)\/(\d+) /.exec(got);
      if (!m || !got.includes('\r\n\r\n')) return;
      got = '';
      const bytes = Buffer.from(RESPONSES[Number(m[1])]!, 'latin1');
      const k = Number(m[2]);
      socket.write(bytes.subarray(0, k));
      setTimeout(() => socket.write(bytes.subarray(k)), 5);
    });
  }, { t });
  const port = await freePort();
  await startProxy(t, config(port, origin.port), { waitPorts: [port] });
  for (const [i, fixture] of RESPONSES.entries()) {
    const n = Buffer.byteLength(fixture, 'latin1');
    const request = (k: number) => Buffer.from(`GET /${i}/${k} HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n`);
    const reference = await exchange(port, [request(n)]);
    t.ok(reference.toString('latin1').includes(fixture.slice(fixture.lastIndexOf('\r\n\r\n') + 4)), `fixture ${i}: reference answer carries the body`);
    const mismatches: number[] = [];
    await everyOffset(n, async (k) => {
      const got = await exchange(port, [request(k)]);
      if (!got.equals(reference)) mismatches.push(k);
    });
    t.same(mismatches, [], `fixture ${i}: identical at all ${n + 1} offsets`);
  }
});
