// The contenders: each start*() writes its configuration, starts the process pinned to the
// proxy CPU, waits for its port and returns { name, pid, port, stop, note }.
// limpet and HAProxy read the very same haproxy.cfg text; nginx gets the equivalent in its
// own language; the Node baseline takes ports on its command line.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, cliPath, freePort, LOAD_CPU, PROXY_CPU, startPinned, stopChild, waitForPort, which } from './common.js';

/** The one configuration limpet and HAProxy both run. `mode` is http or tcp. */
export function haproxyCfg({ mode, port, originPort }) {
  return `# written by scripts/bench: the same text for limpet and HAProxy
global
    maxconn 8000
    nbthread 1

defaults
    mode ${mode}
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend bench
    bind 127.0.0.1:${port}
    default_backend origin

backend origin
    balance roundrobin
    server origin1 127.0.0.1:${originPort} maxconn 8000
`;
}

// Debian builds nginx's TCP proxy as a dynamic module (libnginx-mod-stream).
const NGINX_STREAM = '/usr/lib/nginx/modules/ngx_stream_module.so';

function nginxCfg({ dir, port, originPort, mode }) {
  const common = `${mode === 'tcp' ? `load_module ${NGINX_STREAM};\n` : ''}worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
worker_rlimit_nofile 20000;
events { worker_connections 8000; }
`;
  if (mode === 'tcp') {
    return `${common}stream {
    upstream origin { server 127.0.0.1:${originPort}; }
    server { listen 127.0.0.1:${port} backlog=4096; proxy_pass origin; proxy_buffer_size 256k; }
}
`;
  }
  return `${common}http {
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 30s;
    upstream origin {
        server 127.0.0.1:${originPort};
        keepalive 512;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:${port} backlog=4096;
        client_max_body_size 16m;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }
    }
}
`;
}

async function started(name, child, port, note = '') {
  try {
    await waitForPort(port, 15000);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${name} did not start: ${err.message}\n${child.output()}`);
  }
  if (child.exitCode !== null) throw new Error(`${name} exited:\n${child.output()}`);
  return { name, pid: child.pid, port, note, child, stop: () => stopChild(child) };
}

/** The origin every contender forwards to, pinned beside the load generator. */
export async function startOrigin() {
  const port = await freePort();
  const child = startPinned(LOAD_CPU, process.execPath, [join(benchDir, 'origin.js'), String(port)]);
  return started('origin', child, port);
}

export async function startLimpet({ dir, mode, originPort, nodeArgs = [], cli = cliPath, name = 'limpet' }) {
  const port = await freePort();
  const cfg = join(dir, `${name}-${mode}.cfg`);
  writeFileSync(cfg, haproxyCfg({ mode, port, originPort }));
  const child = startPinned(PROXY_CPU, process.execPath, [...nodeArgs, cli, '-q', '-f', cfg]);
  return started(name, child, port);
}

export async function startHaproxy({ dir, mode, originPort }) {
  const port = await freePort();
  const cfg = join(dir, `haproxy-${mode}.cfg`);
  writeFileSync(cfg, haproxyCfg({ mode, port, originPort }));
  // -db: foreground, one process, no master; same file as limpet's.
  const child = startPinned(PROXY_CPU, 'haproxy', ['-db', '-f', cfg]);
  return started('HAProxy', child, port);
}

export async function startNginx({ dir, mode, originPort }) {
  const port = await freePort();
  const ndir = join(dir, `nginx-${mode}`);
  mkdirSync(ndir, { recursive: true });
  const cfg = join(ndir, 'nginx.conf');
  writeFileSync(cfg, nginxCfg({ dir: ndir, port, originPort, mode }));
  const child = startPinned(PROXY_CPU, 'nginx', ['-p', ndir, '-c', cfg]);
  return started('nginx', child, port, 'equivalent nginx.conf (nginx does not read haproxy.cfg)');
}

export async function startNodeProxy({ originPort }) {
  const port = await freePort();
  const child = startPinned(PROXY_CPU, process.execPath, [join(benchDir, 'node-proxy.js'), String(port), String(originPort)]);
  return started('node-proxy', child, port, 'node:http + http.Agent keepAlive, inline (no node-http-proxy dependency)');
}

/** Which contenders this machine can run, in table order. `direct` has no proxy process. */
export function contenders(mode) {
  const list = [{ name: 'direct', start: async ({ originPort }) => ({ name: 'direct', port: originPort, note: 'client straight to the origin: the physical limit', stop: async () => {} }) }];
  list.push({ name: 'limpet', start: startLimpet });
  if (which('haproxy')) list.push({ name: 'HAProxy', start: startHaproxy });
  if (which('nginx') && (mode === 'http' || existsSync(NGINX_STREAM))) list.push({ name: 'nginx', start: startNginx });
  if (mode === 'http') list.push({ name: 'node-proxy', start: startNodeProxy });
  return list;
}
