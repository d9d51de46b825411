// A small, fast HTTP/1.1 origin for the benchmarks, used when nginx is not installed:
// GET /small (12 bytes), GET /1m (1 MiB), POST /upload (reads the whole body, then answers).
// Raw node:net with precomputed responses, so the origin costs as little CPU as Node allows.
// Usage: node origin.js PORT
import net from 'node:net';

const port = Number(process.argv[2]);
const MIB = 1024 * 1024;

const response = (body, close) =>
  Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`),
    body,
  ]);
const bodies = { '/small': Buffer.from('hello world\n'), '/1m': Buffer.alloc(MIB, 'x'), '/upload': Buffer.from('ok\n') };
const responses = new Map();
for (const [path, body] of Object.entries(bodies)) {
  responses.set(path, response(body, false));
  responses.set(`${path} close`, response(body, true));
}
const notFound = Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
const MAX_HEAD = 16384;

const server = net.createServer({ noDelay: true }, (socket) => {
  let buf = Buffer.alloc(0);
  let bodyLeft = 0;
  let pending; // the response owed once the body has been read
  let closeAfter = false;
  const answer = () => {
    socket.write(pending);
    pending = undefined;
    if (closeAfter) socket.end();
  };
  socket.on('data', (chunk) => {
    if (bodyLeft > 0) {
      const take = Math.min(bodyLeft, chunk.length);
      bodyLeft -= take;
      chunk = chunk.subarray(take);
      if (bodyLeft === 0) answer();
      if (chunk.length === 0) return;
    }
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buf.length > MAX_HEAD) socket.destroy();
        return;
      }
      const head = buf.toString('latin1', 0, end);
      buf = buf.subarray(end + 4);
      const sp1 = head.indexOf(' ');
      const path = head.slice(sp1 + 1, head.indexOf(' ', sp1 + 1));
      const lower = head.toLowerCase();
      closeAfter = /\r\nconnection:\s*close/.test(lower);
      const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
      const res = responses.get(closeAfter ? `${path} close` : path);
      if (!res) {
        socket.end(notFound);
        return;
      }
      pending = res;
      bodyLeft = cl ? Number(cl[1]) : 0;
      const take = Math.min(bodyLeft, buf.length);
      bodyLeft -= take;
      buf = buf.subarray(take);
      if (bodyLeft > 0) return;
      answer();
      if (closeAfter) return;
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port, backlog: 4096 });
