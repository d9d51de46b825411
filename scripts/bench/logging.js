// What traffic logging costs: limpet without logs, with `option httplog` to stdout (a file),
// and to a UDP syslog target, side by side (and HAProxy with httplog to UDP when installed).
//
//   node scripts/bench/logging.js [--seconds 5] [--connections 50]
//
// Needs wrk and a built dist/cli.js. Everything runs on 127.0.0.1 ephemeral ports; every
// process started is killed by PID at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './common.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = opt('seconds', 5);
const connections = opt('connections', 50);
const has = (cmd) => spawnSync('which', [cmd]).status === 0;
if (!has('wrk')) {
  console.error('wrk is required (scripts/bench/install.sh)');
  process.exit(1);
}

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const waitPort = async (port) => {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
};

const dir = mkdtempSync(join(tmpdir(), 'limpet-bench-log-'));
const children = [];
// The origin runs in its own process: wrk is run with spawnSync, which blocks this one.
const originPort = await freePort();
const origin = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('hello world\\n')).listen(${originPort}, '127.0.0.1')`], { stdio: 'ignore' });
children.push(origin);
await waitPort(originPort);
const udpPort = await freePort(); // nobody listens: datagrams are sent and dropped

const cfg = (port, logLines) => `
global
${logLines}
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    ${logLines ? 'log global\n    option httplog' : ''}
listen www
    bind 127.0.0.1:${port}
    server s1 127.0.0.1:${originPort}
`;

async function run(name, cmd, cmdArgs, port, stdoutFile) {
  const out = stdoutFile ? openSync(stdoutFile, 'w') : 'ignore';
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', out, 'ignore'] });
  children.push(child);
  await waitPort(port);
  spawnSync('wrk', ['-t1', `-c${connections}`, '-d1s', `http://127.0.0.1:${port}/`]); // warm-up
  const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  child.kill('SIGKILL');
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const lat = /Latency\s+(\S+)/.exec(r.stdout)?.[1] ?? '?';
  const logged = stdoutFile ? `${Math.round(statSync(stdoutFile).size / 1024)} KiB logged` : '';
  return { name, rps, lat, logged };
}

const results = [];
try {
  for (const [name, logLines, file] of [
    ['limpet, no traffic log', '', undefined],
    ['limpet, httplog to stdout (file)', '    log stdout format raw local0', join(dir, 'out.log')],
    ['limpet, httplog to UDP syslog', `    log 127.0.0.1:${udpPort} local0`, undefined],
  ]) {
    const port = await freePort();
    const path = join(dir, `${results.length}.cfg`);
    writeFileSync(path, cfg(port, logLines));
    results.push(await run(name, process.execPath, [cliPath, '-f', path], port, file));
  }
  if (has('haproxy')) {
    const port = await freePort();
    const path = join(dir, 'haproxy.cfg');
    writeFileSync(path, cfg(port, `    log 127.0.0.1:${udpPort} local0`));
    results.push(await run('HAProxy, httplog to UDP syslog', 'haproxy', ['-f', path, '-db'], port));
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
const base = results[0].rps;
console.log(`wrk -t1 -c${connections} -d${seconds}s, small GET, keep-alive\n`);
for (const r of results) {
  console.log(`${r.name.padEnd(36)} ${r.rps.toFixed(0).padStart(8)} req/s  (${((r.rps / base) * 100).toFixed(0)}% of no-log)  latency ${r.lat}  ${r.logged}`);
}
