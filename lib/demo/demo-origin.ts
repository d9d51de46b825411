// The demo's origin servers: each answers every request with the line the seed's how-to shows,
// so a curl session against `limpet demo` reads like the one against HAProxy.
import http from 'node:http';

export interface DemoOrigin {
  name: string;
  port: number;
  close(): Promise<void>;
}

export function startDemoOrigin(name: string, host = '127.0.0.1', port = 0): Promise<DemoOrigin> {
  let actualPort = port;
  const server = http.createServer((req, res) => {
    const body = `This is HTTP server ${name} (${host}:${actualPort}).\n`;
    req.resume();
    res.writeHead(200, {
      'Last-Modified': new Date(0).toUTCString(),
      'Accept-Ranges': 'bytes',
      'Content-Length': Buffer.byteLength(body),
      'Content-Type': 'text/html; charset=UTF-8',
    });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      actualPort = (server.address() as { port: number }).port;
      resolve({
        name,
        port: actualPort,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
