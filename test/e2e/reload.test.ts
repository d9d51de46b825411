// SIGUSR2 reloads under load (keep-alive and fresh connections see no error across five
// reloads), a bad configuration is rejected while the old one keeps serving, runtime server
// states and counters carry over, and SIGUSR1 stops softly.
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get, keepAliveConnection } from '../helpers/http-client.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { runtimeCommand } from '../helpers/runtime-command.js';

const config = (fePort: number, apiPort: number, origins: Origin[], extra = '') => `
global
    stats socket 127.0.0.1:${apiPort} level admin
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    timeout http-keep-alive 5s
listen www
    bind 127.0.0.1:${fePort}
${origins.map((o, i) => `    server s${i + 1} 127.0.0.1:${o.port}`).join('\n')}
${extra}
`;

t.test('five reloads under a keep-alive client loop: no error', async (t) => {
  const o1 = await startOrigin({ name: 'o1', t });
  const o2 = await startOrigin({ name: 'o2', t });
  const [fePort, apiPort] = await freePorts(2);
  const proxy = await startProxy(t, config(fePort, apiPort, [o1]), { waitPorts: [fePort, apiPort] });

  let running = true;
  const errors: string[] = [];
  let ok = 0;
  // Two keep-alive clients (reconnecting only when the proxy says Connection: close) and one
  // client opening a new connection per request.
  const keepAliveLoop = async () => {
    while (running) {
      const conn = await keepAliveConnection(fePort);
      try {
        while (running) {
          const res = await conn.send(`GET /ka HTTP/1.1\r\nHost: x\r\n\r\n`);
          if (res.status !== 200 || !res.complete) {
            errors.push(`keep-alive: status ${res.status} complete ${res.complete} timedOut ${res.timedOut}`);
            return;
          }
          ok++;
          if (res.headers.some(([k, v]) => k.toLowerCase() === 'connection' && v.toLowerCase() === 'close')) break;
        }
      } catch (err) {
        errors.push(`keep-alive: ${(err as Error).message}`);
        return;
      } finally {
        conn.close();
      }
    }
  };
  const freshLoop = async () => {
    while (running) {
      try {
        const res = await get(fePort, '/fresh');
        if (res.status !== 200) errors.push(`fresh: status ${res.status}`);
        else ok++;
      } catch (err) {
        errors.push(`fresh: ${(err as Error).message}`);
      }
    }
  };
  const loops = [keepAliveLoop(), keepAliveLoop(), freshLoop()];
  for (let i = 1; i <= 5; i++) {
    await new Promise((r) => setTimeout(r, 150));
    // Alternate between one and two servers so every reload changes something.
    writeFileSync(proxy.configPath, config(fePort, apiPort, i % 2 ? [o1, o2] : [o1]));
    const before = proxy.stderr().split('Reload done').length;
    proxy.signal('SIGUSR2');
    await waitFor(`reload ${i}`, () => proxy.stderr().split('Reload done').length > before);
  }
  await new Promise((r) => setTimeout(r, 150));
  running = false;
  await Promise.all(loops);
  t.same(errors, [], 'no client saw an error');
  t.ok(ok > 50, `requests kept flowing (${ok})`);
  t.ok(o2.requests.length > 0, 'the reloaded configuration (with s2) took traffic');
  // Counters carried over: the frontend total covers requests from every configuration.
  const stat = await runtimeCommand(apiPort, 'show stat');
  const fe = stat.split('\n').find((l) => l.startsWith('www,FRONTEND,'))!.split(',');
  t.ok(Number(fe[48]) >= ok, `req_tot (${fe[48]}) counts requests across reloads (${ok})`);
});

t.test('a bad configuration is rejected and the running one keeps serving; server states carry over', async (t) => {
  const o1 = await startOrigin({ name: 'o1', t });
  const o2 = await startOrigin({ name: 'o2', t });
  const [fePort, apiPort] = await freePorts(2);
  const proxy = await startProxy(t, config(fePort, apiPort, [o1, o2]), { waitPorts: [fePort, apiPort] });
  t.equal(await runtimeCommand(apiPort, 'set server www/s2 state maint'), '\n');

  writeFileSync(proxy.configPath, config(fePort, apiPort, [o1, o2], '    balance nosuchalgo\n    bogus_keyword 1\n'));
  proxy.signal('SIGUSR2');
  await waitFor('the rejection', () => proxy.stderr().includes('Reload rejected'));
  t.match(proxy.stderr(), /bogus_keyword/, 'the errors are reported with their keyword');
  for (let i = 0; i < 4; i++) t.match((await get(fePort, '/')).body, /o1/, 'still serving, s2 still in maintenance');

  writeFileSync(proxy.configPath, config(fePort, apiPort, [o1, o2], '    # reloaded\n'));
  proxy.signal('SIGUSR2');
  await waitFor('the reload', () => proxy.stderr().includes('Reload done'));
  t.match(await runtimeCommand(apiPort, 'show servers state www'), /^\d+ www 2 s2 127\.0\.0\.1 2 1 /m, 's2 is still in maintenance after the reload');
  for (let i = 0; i < 4; i++) t.match((await get(fePort, '/')).body, /o1/);
  t.match(await runtimeCommand(apiPort, 'reload'), /^Reload done/, 'the runtime API reloads too');
});

t.test('SIGUSR1: soft stop lets the request in flight finish', async (t) => {
  const slow = await startOrigin({ name: 'slow', t, handler: (_req, res) => setTimeout(() => res.end('done\n'), 300) });
  const [fePort, apiPort] = await freePorts(2);
  const proxy = await startProxy(t, config(fePort, apiPort, [slow]), { waitPorts: [fePort] });
  const pending = get(fePort, '/');
  await new Promise((r) => setTimeout(r, 100));
  proxy.signal('SIGUSR1');
  const res = await pending;
  t.equal(res.status, 200);
  t.equal(res.body, 'done\n');
  t.equal((await proxy.exited).code, 0);
  await t.rejects(get(fePort, '/', undefined, { timeout: 1000 }), 'no longer accepting');
});

t.test('a reload rebinds stats sockets: a new one answers, a kept one stays, a dropped one closes', async (t) => {
  const o1 = await startOrigin({ name: 'o1', t });
  const [fePort, apiPort, newApiPort] = await freePorts(3);
  const proxy = await startProxy(t, config(fePort, apiPort, [o1]), { waitPorts: [fePort, apiPort] });
  writeFileSync(proxy.configPath, config(fePort, apiPort, [o1]).replace(
    `stats socket 127.0.0.1:${apiPort} level admin`,
    `stats socket 127.0.0.1:${apiPort} level admin\n    stats socket 127.0.0.1:${newApiPort} level user`,
  ));
  proxy.signal('SIGUSR2');
  await waitFor('the reload', () => proxy.stderr().includes('Reload done'));
  t.match(await runtimeCommand(newApiPort, 'show info'), /^Name: limpet$/m, 'the new socket answers');
  t.match(await runtimeCommand(newApiPort, 'set server www/s1 state maint'), /Permission denied/, 'at its own level');
  t.match(await runtimeCommand(apiPort, 'show info'), /^Name: limpet$/m, 'the kept socket still answers');

  writeFileSync(proxy.configPath, config(fePort, apiPort, [o1]).replace(`stats socket 127.0.0.1:${apiPort} level admin`, `stats socket 127.0.0.1:${newApiPort} level admin`));
  const before = proxy.stderr().split('Reload done').length;
  proxy.signal('SIGUSR2');
  await waitFor('the second reload', () => proxy.stderr().split('Reload done').length > before);
  await t.rejects(runtimeCommand(apiPort, 'show info'), /ECONNREFUSED/, 'the dropped socket is closed');
  t.equal(await runtimeCommand(newApiPort, 'set server www/s1 state ready'), '\n', 'the level follows the new line');
});
