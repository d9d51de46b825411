// `send-proxy` / `send-proxy-v2` on servers of an HTTP backend, through the built CLI: the
// header names the (PROXY-protocol-resolved) client and frontend addresses, and a server
// connection carrying one is private to its client: kept-alive requests of one client share
// it, another client never gets it, whatever http-reuse says.
import net from 'node:net';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { startRawOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { parseProxyHeader, type ProxiedAddresses } from '../../lib/tcp/proxy-protocol.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { sleep } from '../tcp/tcp-test-helpers.js';

interface OriginConn {
  /** the PROXY header's addresses ('unknown' for UNKNOWN/LOCAL, 'invalid' for no header) */
  header: ProxiedAddresses | 'unknown' | 'invalid' | undefined;
  requests: string[];
  closed: boolean;
}

/**
 * An HTTP origin on raw sockets: reads the PROXY header that must open each connection, then
 * answers each request with `conn=<index>` so a client sees which server connection served it.
 */
async function proxyAwareOrigin(t: TeardownHost) {
  const conns: OriginConn[] = [];
  const origin = await startRawOrigin((socket, index) => {
    const c: OriginConn = { header: undefined, requests: [], closed: false };
    conns[index] = c;
    let buf = Buffer.alloc(0);
    socket.on('close', () => (c.closed = true));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (c.header === undefined) {
        const r = parseProxyHeader(buf);
        if (r.kind === 'incomplete') return;
        if (r.kind === 'invalid') {
          c.header = 'invalid';
          return void socket.destroy();
        }
        c.header = r.addresses ?? 'unknown';
        buf = buf.subarray(r.length);
      }
      // GET requests without bodies: each head ends at a blank line.
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        c.requests.push(buf.toString('latin1', 0, end).split('\r\n')[0]!);
        buf = buf.subarray(end + 4);
        const body = `conn=${index}`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
  }, { t });
  return { origin, conns };
}

/** A keep-alive client that knows its own port; `ask` returns the response body. */
async function client(port: number, preface = '') {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => {});
  if (preface) socket.write(preface);
  let buf = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    wake?.();
  });
  socket.on('close', () => wake?.());
  const localPort = socket.localPort!;
  return {
    localPort,
    socket,
    async ask(path: string): Promise<string> {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: example\r\n\r\n`);
      const deadline = Date.now() + 5000;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end !== -1) {
          const head = buf.toString('latin1', 0, end);
          const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length >= end + 4 + len) {
            const body = buf.toString('latin1', end + 4, end + 4 + len);
            buf = buf.subarray(end + 4 + len);
            if (!head.startsWith('HTTP/1.1 200')) throw new Error(`unexpected answer: ${head}`);
            return body;
          }
        }
        if (socket.destroyed || Date.now() > deadline) throw new Error(`no complete response to ${path}; got ${JSON.stringify(buf.toString())}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
        wake = undefined;
      }
    },
  };
}

const config = (port: number, bindOpts: string, reuse: string, server: string) => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen www
    bind 127.0.0.1:${port} ${bindOpts}
    http-reuse ${reuse}
    ${server}
`;

for (const reuse of ['safe', 'always']) {
  t.test(`send-proxy, http-reuse ${reuse}: each client's own addresses and its own server connection`, async (t) => {
    const { origin, conns } = await proxyAwareOrigin(t);
    const [port] = await freePorts(1);
    await startProxy(t, config(port!, '', reuse, `server o1 127.0.0.1:${origin.port} send-proxy`), { waitPorts: [port!] });
    const a = await client(port!);
    const b = await client(port!);
    // Interleaved, so that the idle connection most recently given back is always the other client's.
    const answers = { a: [] as string[], b: [] as string[] };
    answers.a.push(await a.ask('/a1'));
    answers.b.push(await b.ask('/b1'));
    answers.a.push(await a.ask('/a2'));
    answers.b.push(await b.ask('/b2'));
    answers.a.push(await a.ask('/a3'));
    answers.b.push(await b.ask('/b3'));
    t.equal(new Set(answers.a).size, 1, `client A kept one server connection: ${answers.a}`);
    t.equal(new Set(answers.b).size, 1, `client B kept one server connection: ${answers.b}`);
    t.not(answers.a[0], answers.b[0], 'no server connection went from one client to the other');
    t.equal(origin.connections, 2, 'two server connections in all');
    const ia = Number(answers.a[0]!.slice(5));
    const ib = Number(answers.b[0]!.slice(5));
    t.same(conns[ia]?.header, { family: 'tcp4', srcAddress: '127.0.0.1', srcPort: a.localPort, dstAddress: '127.0.0.1', dstPort: port }, 'A is named in its header');
    t.same(conns[ib]?.header, { family: 'tcp4', srcAddress: '127.0.0.1', srcPort: b.localPort, dstAddress: '127.0.0.1', dstPort: port }, 'B is named in its header');
    t.same(conns[ia]?.requests, ['GET /a1 HTTP/1.1', 'GET /a2 HTTP/1.1', 'GET /a3 HTTP/1.1']);
    t.same(conns[ib]?.requests, ['GET /b1 HTTP/1.1', 'GET /b2 HTTP/1.1', 'GET /b3 HTTP/1.1']);
    // The client leaves: its private server connection is not kept for anyone else.
    a.socket.destroy();
    for (let i = 0; i < 100 && !conns[ia]!.closed; i++) await sleep(20);
    t.ok(conns[ia]!.closed, "A's server connection closed with A");
    t.equal(await b.ask('/b4'), answers.b[0], 'B still on its own connection');
    b.socket.destroy();
  });
}

t.test('accept-proxy in, send-proxy-v2 out: the header carries the addresses the client side claimed', async (t) => {
  const { origin, conns } = await proxyAwareOrigin(t);
  const [port] = await freePorts(1);
  await startProxy(t, config(port!, 'accept-proxy', 'always', `server o1 127.0.0.1:${origin.port} send-proxy-v2`), { waitPorts: [port!] });
  const a = await client(port!, 'PROXY TCP4 192.0.2.10 198.51.100.1 1111 80\r\n');
  const b = await client(port!, 'PROXY TCP6 2001:db8::20 2001:db8::1 2222 8080\r\n');
  const ra = [await a.ask('/a1'), await b.ask('/b1'), await a.ask('/a2'), await b.ask('/b2')];
  t.equal(ra[0], ra[2], 'A stays on its connection');
  t.equal(ra[1], ra[3], 'B stays on its connection');
  t.not(ra[0], ra[1], 'the clients never share one');
  t.equal(origin.connections, 2);
  t.same(conns[Number(ra[0]!.slice(5))]?.header, { family: 'tcp4', srcAddress: '192.0.2.10', srcPort: 1111, dstAddress: '198.51.100.1', dstPort: 80 });
  t.same(conns[Number(ra[1]!.slice(5))]?.header, { family: 'tcp6', srcAddress: '2001:db8::20', srcPort: 2222, dstAddress: '2001:db8::1', dstPort: 8080 });
  a.socket.destroy();
  b.socket.destroy();
});

t.test('without send-proxy the pool is shared as before (http-reuse always)', async (t) => {
  const [port] = await freePorts(1);
  const plain = await startRawOrigin((socket, index) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.subarray(end + 4);
        const body = `conn=${index}`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
  }, { t });
  await startProxy(t, config(port!, '', 'always', `server o1 127.0.0.1:${plain.port}`), { waitPorts: [port!] });
  const a = await client(port!);
  const b = await client(port!);
  const first = await a.ask('/a1');
  t.equal(await b.ask('/b1'), first, 'B took the connection A gave back');
  t.equal(plain.connections, 1);
  a.socket.destroy();
  b.socket.destroy();
});
