// What `limpet -vv` prints: version, runtime and the features this build has, the way
// `haproxy -vv` answers for bug reports.
import os from 'node:os';
import { VERSION } from '../version.js';

export function buildDetails(): string {
  const features = [
    '+HTTP/1.1 (llhttp-wasm)', '+TCP', '+PROXY-protocol', '+stick-tables', '+Redis-shared-tables', '+httplog', '+tcplog',
    '+log-format', '+syslog-udp', '-syslog-unix-dgram', '+stats-page', '+prometheus', '+runtime-api', '+reload',
    '+workers', '+hard-stop-after', '-threads', '-TLS', '-HTTP/2',
  ];
  return [
    `limpet version ${VERSION}`,
    `Status: development`,
    `Running on: ${os.type()} ${os.release()} ${os.arch()}`,
    `Built with: Node.js ${process.versions.node} (V8 ${process.versions.v8}, libuv ${process.versions.uv})`,
    // nbthread N runs N worker processes (node:cluster), not threads.
    `Default settings : bufsize = 16384, maxhdr = 101, nbthread = 1 (worker processes, 1 to 64)`,
    `Feature list : ${features.join(' ')}`,
    '',
  ].join('\n');
}
