// One command line to limpet's runtime API (`stats socket`), as `echo CMD | socat` sends it:
// the answer is everything read until the proxy closes the connection.
import net from 'node:net';

/** `target`: a TCP port on 127.0.0.1, or a unix socket path. Bounded by `timeoutMs`. */
export function runtimeCommand(target: number | string, line: string, timeoutMs = 8000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer to '${line}'`)));
    s.write(`${line}\n`);
  });
}
