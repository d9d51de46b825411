// The runtime API (`stats socket`) of the built CLI, driven over TCP and a unix socket the way
// `socat`/`nc` drive HAProxy's: one command line, the answer, the connection closes.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { runtimeCommand } from '../helpers/runtime-command.js';

/** Sends `line` and reads until the server closes, as `echo line | socat stdio ADDR` does. */
async function hits(port: number, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const body = (await get(port, '/')).body;
    const name = /server (\w+)/.exec(body)?.[1] ?? body;
    seen[name] = (seen[name] ?? 0) + 1;
  }
  return seen;
}

t.test('runtime API commands over TCP and a unix socket', async (t) => {
  const o1 = await startOrigin({ name: 'o1', t });
  const o2 = await startOrigin({ name: 'o2', t });
  const [fePort, apiPort, stickPort] = await freePorts(3);
  const dir = mkdtempSync(join(tmpdir(), 'limpet-api-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const userSock = join(dir, 'user.sock');
  await startProxy(t, `
global
    maxconn 500
    stats socket ipv4@127.0.0.1:${apiPort} level admin
    stats socket ${userSock} level user
defaults
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:${fePort}
    default_backend farm
backend farm
    server s1 127.0.0.1:${o1.port}
    server s2 127.0.0.1:${o2.port}
listen sticky
    bind 127.0.0.1:${stickPort}
    stick-table type ip size 100 expire 10m
    stick on src
    server s1 127.0.0.1:${o1.port}
    server s2 127.0.0.1:${o2.port}
`, { waitPorts: [fePort, apiPort, stickPort] });

  const help = await runtimeCommand(apiPort, 'help');
  for (const c of ['show info', 'show stat', 'show servers state', 'show table', 'clear table', 'set server', 'enable server', 'disable server', 'set maxconn']) {
    t.match(help, c, `help lists '${c}'`);
  }

  const info = await runtimeCommand(apiPort, 'show info');
  t.match(info, /^Name: limpet$/m);
  t.match(info, /^Pid: \d+$/m);
  t.match(info, /^Maxconn: 500$/m);
  t.match(info, /^Uptime_sec: \d+$/m);
  t.ok(info.endsWith('\n\n'), 'answer ends with a blank line');

  t.same(await hits(fePort, 4), { o1: 2, o2: 2 }, 'round robin before any change');

  const stat = await runtimeCommand(apiPort, 'show stat');
  t.match(stat, /^# pxname,svname,qcur,qmax,scur,smax,slim,stot,/);
  t.match(stat, /^farm,s1,0,0,0,\d+,,2,/m, 's1 served two sessions');

  // maint: all traffic to s2
  t.equal(await runtimeCommand(apiPort, 'set server farm/s1 state maint'), '\n');
  t.same(await hits(fePort, 3), { o2: 3 });
  let state = await runtimeCommand(apiPort, 'show servers state farm');
  t.match(state, /^1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight /);
  t.match(state, /^\d+ farm 1 s1 127\.0\.0\.1 2 1 1 1 /m, 's1 in forced maintenance (admin state 1)');
  t.match(state, /^\d+ farm 2 s2 127\.0\.0\.1 2 0 1 1 /m);
  t.match(await runtimeCommand(apiPort, 'show stat'), /^farm,s1,(?:[^,]*,){15}MAINT,/m);
  // ready again, then drain s2: only s1 gets new traffic
  t.equal(await runtimeCommand(apiPort, 'set server farm/s1 state ready'), '\n');
  t.equal(await runtimeCommand(apiPort, 'set server farm/s2 state drain'), '\n');
  t.same(await hits(fePort, 3), { o1: 3 });
  state = await runtimeCommand(apiPort, 'show servers state farm');
  t.match(state, /^\d+ farm 2 s2 127\.0\.0\.1 2 8 0 1 /m, 's2 draining (admin state 8, weight 0)');
  t.equal(await runtimeCommand(apiPort, 'set server farm/s2 state ready'), '\n');
  t.same(await hits(fePort, 2), { o1: 1, o2: 1 });

  // weights: 3 to 1
  t.equal(await runtimeCommand(apiPort, 'set server farm/s1 weight 3'), '\n');
  t.match(await runtimeCommand(apiPort, 'get weight farm/s1'), /^3 \(initial 1\)/);
  t.same(await hits(fePort, 8), { o1: 6, o2: 2 }, 'weights 3:1');
  t.equal(await runtimeCommand(apiPort, 'set server farm/s1 weight 100%'), '\n');
  t.match(await runtimeCommand(apiPort, 'get weight farm/s1'), /^1 /);

  // disable / enable (HAProxy's older spelling)
  t.equal(await runtimeCommand(apiPort, 'disable server farm/s2'), '\n');
  t.same(await hits(fePort, 2), { o1: 2 });
  t.equal(await runtimeCommand(apiPort, 'enable server farm/s2'), '\n');
  t.same(await hits(fePort, 2), { o1: 1, o2: 1 });

  // maxconn
  t.equal(await runtimeCommand(apiPort, 'set maxconn global 321'), '\n');
  t.match(await runtimeCommand(apiPort, 'show info'), /^Maxconn: 321$/m);
  t.equal(await runtimeCommand(apiPort, 'set maxconn frontend www 50'), '\n');
  t.equal(await runtimeCommand(apiPort, 'set maxconn server farm/s1 10'), '\n');
  t.match(await runtimeCommand(apiPort, 'show stat'), /^farm,s1,0,0,0,\d+,10,/m, 'slim shows the new server maxconn');
  t.match(await runtimeCommand(apiPort, 'set maxconn frontend nope 5'), /No such frontend/);

  // stick table
  t.equal((await get(stickPort, '/')).status, 200);
  const table = await runtimeCommand(apiPort, 'show table sticky');
  t.match(table, /^# table: sticky, type: ip, size:100, used:1\n/);
  t.match(table, /^0x[0-9a-f]+: key=127\.0\.0\.1 use=0 exp=\d+ shard=0 server_id=\d server_key=s\d$/m);
  t.match(await runtimeCommand(apiPort, 'show table'), /^# table: sticky, type: ip, size:100, used:1$/m);
  t.equal(await runtimeCommand(apiPort, 'clear table sticky key 127.0.0.1'), '\n');
  t.match(await runtimeCommand(apiPort, 'show table sticky'), /used:0/);

  // several commands on one line; errors; levels
  const two = await runtimeCommand(apiPort, 'get weight farm/s1; get weight farm/s2');
  t.match(two, /^1 \(initial 1\)\n\n1 \(initial 1\)\n\n$/);
  t.match(await runtimeCommand(apiPort, 'set server farm/nope state maint'), /No such server/);
  t.match(await runtimeCommand(apiPort, 'set server nope/s1 state maint'), /No such backend/);
  t.match(await runtimeCommand(apiPort, 'bogus'), /Unknown command/);
  t.match(await runtimeCommand(userSock, 'show info'), /^Name: limpet$/m, 'the unix socket answers');
  t.match(await runtimeCommand(userSock, 'set server farm/s1 state maint'), /Permission denied/, 'level user cannot change servers');
  t.same(await hits(fePort, 2), { o1: 1, o2: 1 }, 'nothing changed by the denied command');
});

t.test('interactive mode: prompt, several lines, quit', async (t) => {
  const [fePort, apiPort] = await freePorts(2);
  const o1 = await startOrigin({ name: 'o1', t });
  await startProxy(t, `
global
    stats socket 127.0.0.1:${apiPort} level admin
listen www
    mode http
    bind 127.0.0.1:${fePort}
    server s1 127.0.0.1:${o1.port}
`, { waitPorts: [fePort, apiPort] });
  const out = await new Promise<string>((resolve, reject) => {
    const s = net.connect(apiPort, '127.0.0.1');
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      text += d;
      const prompts = text.split('> ').length - 1;
      if (prompts === 1) s.write('get weight www/s1\n');
      if (prompts === 2) s.write('quit\n');
    });
    s.on('close', () => resolve(text));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('no answer')));
    s.write('prompt\n');
  });
  t.equal(out, '> 1 (initial 1)\n\n> ');
});
