// Upgrade: `Connection: upgrade` answered by 101 becomes a two-way tunnel (a WebSocket echo
// works end to end, under `timeout tunnel`); any other answer is a normal response and the
// connection carries on as HTTP.
import t from 'tap';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { startRawOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One WebSocket frame, FIN set; masked when sent by a client (RFC 6455 5.2). */
function frame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | len]) : Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 255]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, body]);
}

/** Parses complete frames off `buf`: [opcode, payload][] and what is left. */
function frames(buf: Buffer): { out: Array<[number, Buffer]>; rest: Buffer } {
  const out: Array<[number, Buffer]> = [];
  let off = 0;
  for (;;) {
    if (buf.length < off + 2) break;
    const opcode = buf[off]! & 15;
    const masked = (buf[off + 1]! & 0x80) !== 0;
    let len = buf[off + 1]! & 127;
    let p = off + 2;
    if (len === 126) {
      if (buf.length < p + 2) break;
      len = buf.readUInt16BE(p);
      p += 2;
    }
    const key = masked ? buf.subarray(p, p + 4) : undefined;
    if (masked) p += 4;
    if (buf.length < p + len) break;
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    out.push([opcode, payload]);
    off = p + len;
  }
  return { out, rest: buf.subarray(off) };
}

t.test('WebSocket through the proxy', async (t) => {
  // A minimal WebSocket echo server on node:http's 'upgrade' event.
  const server = createServer((req, res) => {
    res.writeHead(426, { 'Content-Length': '12', Upgrade: 'websocket' }).end('need upgrade');
  });
  const serverSockets = new Set<Socket>();
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    serverSockets.add(socket);
    socket.on('close', () => serverSockets.delete(socket));
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let buf = head;
    socket.on('data', (d: Buffer) => {
      const parsed = frames(Buffer.concat([buf, d]));
      buf = parsed.rest;
      for (const [opcode, payload] of parsed.out) {
        if (opcode === 8) return void socket.end(frame(8, payload, false));
        socket.write(frame(opcode, Buffer.concat([Buffer.from('echo:'), payload]), false));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of serverSockets) s.destroy();
    server.closeAllConnections();
    server.close();
  });
  const originPort = (server.address() as { port: number }).port;
  const port = await freePort();
  await startProxy(t, `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout tunnel 600ms
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${originPort}
`, { waitPorts: [port] });

  const open = async (path: string) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let buf: Buffer = Buffer.alloc(0);
    const waiters: Array<() => void> = [];
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    const until = async (cond: () => boolean, ms = 3000) => {
      const deadline = Date.now() + ms;
      while (!cond() && Date.now() < deadline) await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 50)));
      return cond();
    };
    socket.write(`GET ${path} HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    return { socket, closed, until, get buf() { return buf; }, set buf(b: Buffer) { buf = b; } };
  };

  await t.test('101 then frames both ways; timeout tunnel closes an idle tunnel', async (t) => {
    const ws = await open('/chat');
    t.ok(await ws.until(() => ws.buf.includes('\r\n\r\n')), 'handshake answered');
    const headEnd = ws.buf.indexOf('\r\n\r\n') + 4;
    const head = ws.buf.subarray(0, headEnd).toString('latin1');
    t.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    t.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/, 'the accept key of RFC 6455\'s example');
    t.match(head, /\r\nUpgrade: websocket\r\n/i);
    t.match(head, /\r\nConnection: upgrade\r\n/i);
    ws.buf = ws.buf.subarray(headEnd);
    const messages: string[] = [];
    for (const msg of ['hello', 'x'.repeat(300), 'last']) {
      ws.socket.write(frame(1, Buffer.from(msg), true));
      t.ok(await ws.until(() => frames(ws.buf).out.length > 0), `echo of a ${msg.length}-byte message`);
      const parsed = frames(ws.buf);
      ws.buf = parsed.rest;
      messages.push(...parsed.out.map(([, p]) => p.toString()));
    }
    t.same(messages, ['echo:hello', `echo:${'x'.repeat(300)}`, 'echo:last'], 'every frame echoed in order');
    const idleFrom = Date.now();
    const closedAt = await Promise.race([ws.closed, new Promise<number>((r) => setTimeout(() => r(0), 3000))]);
    t.ok(closedAt > 0, 'the idle tunnel was closed');
    t.ok(closedAt - idleFrom >= 400, `not before timeout tunnel (${closedAt - idleFrom} ms)`);
  });

  await t.test('a close frame ends the tunnel on both sides', async (t) => {
    const ws = await open('/bye');
    t.ok(await ws.until(() => ws.buf.includes('\r\n\r\n')));
    ws.buf = ws.buf.subarray(ws.buf.indexOf('\r\n\r\n') + 4);
    ws.socket.write(frame(8, Buffer.from([3, 232]), true));
    const closedAt = await Promise.race([ws.closed, new Promise<number>((r) => setTimeout(() => r(0), 3000))]);
    t.ok(closedAt > 0, 'closed');
    t.same(frames(ws.buf).out.map(([op]) => op), [8], 'the server\'s close frame came through');
  });

  await t.test('an upgrade answered without 101 is a normal response, and HTTP goes on', async (t) => {
    const ws = await open('/refuse');
    t.ok(await ws.until(() => ws.buf.toString('latin1').endsWith('no')), 'response received');
    t.match(ws.buf.toString('latin1'), /^HTTP\/1\.1 403 Forbidden\r\n/);
    ws.buf = Buffer.alloc(0);
    ws.socket.write('GET /plain HTTP/1.1\r\nHost: example\r\n\r\n');
    t.ok(await ws.until(() => ws.buf.toString('latin1').endsWith('need upgrade')), 'the next request on the same connection is HTTP');
    t.match(ws.buf.toString('latin1'), /^HTTP\/1\.1 426 /);
    ws.socket.destroy();
  });
});

t.test('CONNECT answered 2xx becomes a tunnel; answered otherwise, HTTP goes on', async (t) => {
  const origin = await startRawOrigin((socket: Socket) => {
    let got = '';
    let tunnel = false;
    socket.on('data', (d: Buffer) => {
      if (tunnel) return void socket.write(d.toString('latin1').toUpperCase());
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return;
      const line = got.slice(0, got.indexOf('\r\n'));
      const rest = got.slice(end + 4);
      got = '';
      if (line.startsWith('CONNECT allowed')) {
        tunnel = true;
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
        if (rest) socket.write(rest.toUpperCase());
      } else socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno');
    });
  }, { t });
  const port = await freePort();
  await startProxy(t, `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${origin.port}
`, { waitPorts: [port] });
  const socket = connect({ port, host: '127.0.0.1' });
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 60 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
    return cond();
  };
  socket.write('CONNECT denied:443 HTTP/1.1\r\nHost: denied:443\r\n\r\n');
  t.ok(await until(() => got.endsWith('no')), 'a refused CONNECT is a normal response');
  t.match(got, /^HTTP\/1\.1 403 Forbidden\r\n/);
  got = '';
  socket.write('CONNECT allowed:443 HTTP/1.1\r\nHost: allowed:443\r\n\r\n');
  t.ok(await until(() => got.includes('\r\n\r\n')), 'CONNECT answered');
  t.match(got, /^HTTP\/1\.1 200 Connection established\r\n\r\n$/);
  got = '';
  socket.write('raw bytes, not http\r\n\r\n');
  t.ok(await until(() => got === 'RAW BYTES, NOT HTTP\r\n\r\n'), `bytes flow both ways through the tunnel (${JSON.stringify(got)})`);
  socket.destroy();
});
