// The embedded default configuration of `limpet demo`: the seed's cookie-sticky backend.
export function demoConfigText(proxyHost: string, proxyPort: number, origins: Array<{ name: string; port: number }>): string {
  const servers = origins
    .map((o, i) => `    server ${o.name} 127.0.0.1:${o.port} weight 1 maxconn 512 cookie ${i + 1} check inter 1s rise 2 fall 2`)
    .join('\n');
  return `# limpet demo: two origins behind a cookie-sticky proxy, as in HAProxy's persistence how-to
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    retries 2
    option redispatch

frontend www
    bind ${proxyHost}:${proxyPort}
    default_backend websvrs

backend websvrs
    balance roundrobin
    cookie WEBSVR insert
${servers}
`;
}
