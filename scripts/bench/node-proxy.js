// The "typical Node proxy" baseline: node:http server forwarding every request to one origin
// through an http.Agent with keepAlive, streaming bodies both ways (what node-http-proxy does
// with a keep-alive agent). Written here instead of adding node-http-proxy as a dependency.
// Usage: node node-proxy.js LISTEN_PORT ORIGIN_PORT
import http from 'node:http';

const [listenPort, originPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024 });
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

const server = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
  const headers = { ...req.headers };
  for (const h of HOP_BY_HOP) delete headers[h];
  const upstream = http.request({ host: '127.0.0.1', port: originPort, method: req.method, path: req.url, headers, agent }, (ures) => {
    const out = { ...ures.headers };
    for (const h of HOP_BY_HOP) delete out[h];
    res.writeHead(ures.statusCode ?? 502, out);
    ures.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-length': '0' });
    res.end();
  });
  req.pipe(upstream);
});
server.listen({ host: '127.0.0.1', port: listenPort, backlog: 4096 });
