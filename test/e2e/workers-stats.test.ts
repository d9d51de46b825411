// Stats, Prometheus and the runtime API under `--workers 2` show the whole: whichever worker
// serves the stats page (or the primary serves `show stat` on the stats socket), the counts are
// the sum of both workers'; `set server` reaches both workers; `reload` on the socket reloads
// every worker and rebinds the sockets of the new file.
import { readFileSync, writeFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { runtimeCommand } from '../helpers/runtime-command.js';
import { findChromium, renderedDom } from '../helpers/chromium.js';


/** Sends `line` on the stats socket and reads until it closes, as `echo line | socat` does. */
/** Workers left behind (the primary is SIGKILLed at the end) are killed by PID, if still limpet. */
function killLeftovers(t: Test, pids: Set<number>): void {
  t.teardown(() => {
    for (const pid of pids) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli.js')) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

const config = (p: { fe: number; stats: number; api: number; sticky: number; o1: number; o2: number }, extra = '') => `
global
    stats socket ipv4@127.0.0.1:${p.api} level admin
${extra}
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:${p.fe}
    http-request set-header X-Sent-By %pid
    http-response set-header X-Worker %pid
    default_backend farm
backend farm
    server s1 127.0.0.1:${p.o1}
    server s2 127.0.0.1:${p.o2}
listen stats
    bind 127.0.0.1:${p.stats}
    stats uri /stats
    http-request use-service prometheus-exporter if { path /prom }
listen sticky
    bind 127.0.0.1:${p.sticky}
    stick-table type ip size 100 expire 10m
    stick on src
    server s1 127.0.0.1:${p.o1}
    server s2 127.0.0.1:${p.o2}
`;

async function setup(t: Test, extra = '') {
  const o1 = await startOrigin({ name: 'o1', t });
  const o2 = await startOrigin({ name: 'o2', t });
  const [fe, stats, api, sticky] = await freePorts(4);
  const ports = { fe: fe!, stats: stats!, api: api!, sticky: sticky!, o1: o1.port, o2: o2.port };
  const proxy = await startProxy(t, config(ports, extra), { extraArgs: ['--workers', '2'], waitPorts: [ports.fe, ports.stats, ports.api] });
  const pids = new Set<number>();
  killLeftovers(t, pids);
  return { o1, o2, ports, proxy, pids };
}

/**
 * Requests in concurrent batches (each on a new connection, which the kernel gives to either
 * worker) until both workers have answered and at least `min` were sent; bounded.
 */
async function load(t: Test, port: number, pids: Set<number>, min: number, check?: (headers: [string, string][], body: string) => void) {
  const seen = new Set<number>();
  let sent = 0;
  const deadline = Date.now() + 15_000;
  while ((seen.size < 2 || sent < min) && Date.now() < deadline) {
    const answers = await Promise.all(Array.from({ length: 25 }, () => get(port, '/')));
    for (const a of answers) {
      sent++;
      if (a.status !== 200) t.fail(`status ${a.status}`);
      const pid = Number(headerValues(a.headers, 'X-Worker')[0]);
      seen.add(pid);
      pids.add(pid);
      check?.(a.headers, a.body);
    }
  }
  t.equal(seen.size, 2, `both workers served (${[...seen].join(', ')}) in ${sent} requests`);
  return { sent, seen };
}

const csvRows = (text: string) => {
  const [header, ...lines] = text.trim().split('\n');
  const cols = header!.slice(2).split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
};

const sentBy = (o: Origin) => new Set(o.requests.map((r) => r.headers[r.headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-sent-by') + 1]));

t.test('CSV, JSON, show stat, Prometheus and show info count both workers', async (t) => {
  const { ports, proxy, pids, o1, o2 } = await setup(t);
  const csv = async () => csvRows((await get(ports.stats, '/stats;csv')).body);
  const row = (rows: Array<Record<string, string>>, px: string, sv: string) => rows.find((r) => r.pxname === px && r.svname === sv)!;
  // startProxy's readiness probe opened a connection to www without a request.
  const before = Number(row(await csv(), 'www', 'FRONTEND').stot);
  const { sent, seen } = await load(t, ports.fe, pids, 100);
  t.equal(o1.requests.length + o2.requests.length, sent, 'the origins saw every request');

  // A connection the client closed may still be closing in the proxy for a moment.
  await waitFor('www connections closed in both workers', async () => row(await csv(), 'www', 'FRONTEND').scur === '0');
  for (const [source, rows] of [['stats uri ;csv', await csv()], ['show stat', csvRows(await runtimeCommand(ports.api, 'show stat'))]] as const) {
    const fe = row(rows, 'www', 'FRONTEND');
    t.equal(Number(fe.req_tot), sent, `${source}: www req_tot is every request`);
    t.equal(Number(fe.stot), before + sent, `${source}: www stot is every connection`);
    t.equal(Number(fe.hrsp_2xx), sent, `${source}: www hrsp_2xx`);
    t.equal(Number(row(rows, 'farm', 'BACKEND').stot), sent, `${source}: farm stot`);
    t.equal(Number(row(rows, 'farm', 's1').stot), o1.requests.length, `${source}: s1 stot is what o1 received`);
    t.equal(Number(row(rows, 'farm', 's2').stot), o2.requests.length, `${source}: s2 stot is what o2 received`);
    t.equal(row(rows, 'farm', 's1').status, 'no check');
    t.equal(row(rows, 'www', 'FRONTEND').scur, '0', `${source}: no session left open`);
  }

  const json = JSON.parse((await get(ports.stats, '/stats;json')).body) as Array<Array<{ field: { name: string }; value: { value: unknown } }>>;
  const feJson = json.find((r) => r.some((f) => f.field.name === 'pxname' && f.value.value === 'www'))!;
  t.equal(feJson.find((f) => f.field.name === 'req_tot')?.value.value, sent, ';json: www req_tot');

  for (const path of ['/stats;prometheus', '/prom']) {
    const prom = (await get(ports.stats, path)).body;
    t.match(prom, new RegExp(`^haproxy_frontend_http_requests_total\\{proxy="www"\\} ${sent}$`, 'm'), `${path}: http_requests_total`);
    t.match(prom, new RegExp(`^haproxy_backend_sessions_total\\{proxy="farm"\\} ${sent}$`, 'm'), `${path}: backend sessions_total`);
    t.match(prom, /^haproxy_process_nbthread 2$/m, `${path}: nbthread`);
  }

  const info = await runtimeCommand(ports.api, 'show info');
  t.match(info, /^Nbthread: 2$/m);
  t.match(info, new RegExp(`^Pid: ${proxy.pid}$`, 'm'), 'Pid is the primary\'s');
  const cumReq = Number(/^CumReq: (\d+)$/m.exec(info)?.[1]);
  t.ok(cumReq >= sent, `CumReq ${cumReq} counts both workers' requests (${sent} on www, plus stats requests)`);
  t.ok(info.endsWith('\n\n'));

  // Each stats request comes on a new connection, which either worker may take: every answer is the whole.
  const answers = await Promise.all(Array.from({ length: 20 }, () => get(ports.stats, '/stats;csv')));
  t.same(answers.map((a) => Number(row(csvRows(a.body), 'www', 'FRONTEND').req_tot)), answers.map(() => sent), 'twenty concurrent stats requests all see the whole');

  // A worker that does not answer in time is left out: the socket still answers, short of its
  // numbers, and the primary says so in its log; once it runs again the whole is back.
  const stopped = [...seen][0]!;
  process.kill(stopped, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(stopped, 'SIGCONT');
    } catch {
      // gone
    }
  });
  const asked = Date.now();
  const partial = Number(row(csvRows(await runtimeCommand(ports.api, 'show stat')), 'www', 'FRONTEND').req_tot);
  t.ok(Date.now() - asked < 4000, `show stat answered in ${Date.now() - asked}ms with a worker stopped`);
  t.ok(partial > 0 && partial < sent, `the stopped worker's requests are left out (${partial} of ${sent})`);
  await waitFor('the warning', async () => /stats: 1 of 2 workers answered within \d+ms; left out: worker \d/.test(proxy.stderr()));
  process.kill(stopped, 'SIGCONT');
  await waitFor('the whole again', async () => Number(row(csvRows(await runtimeCommand(ports.api, 'show stat')), 'www', 'FRONTEND').req_tot) === sent);
});

t.test('the HTML page in headless Chromium shows the summed total', async (t) => {
  const chromium = findChromium();
  if (!chromium) {
    if (process.env.CI) return t.fail('chromium is required in CI (apt-get install -y chromium)');
    console.error('# SKIPPING the browser check: chromium is not installed (apt-get install -y chromium)');
    t.plan(0, 'skipped: chromium is not installed');
    return;
  }
  const { ports, pids, proxy } = await setup(t);
  const { sent } = await load(t, ports.fe, pids, 60);
  const dom = await renderedDom(t, chromium, `http://127.0.0.1:${ports.stats}/stats`);
  const backend = /<tr class="backend [^"]*" data-row="BACKEND">(.*?)<\/tr>/.exec(dom.slice(dom.indexOf('id="proxy-farm"')));
  t.ok(backend, 'a BACKEND row for farm');
  const cells = [...backend![1]!.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]);
  t.equal(cells[5], String(sent), 'Sessions Total of farm is every request, from both workers');
  t.match(dom, new RegExp(`pid = ${proxy.pid} \\(process #1, nbproc = 1, nbthread = 2\\)`), 'the primary\'s pid and both workers');
});

t.test('set server state over the socket reaches both workers; reload reloads every worker', async (t) => {
  const { ports, pids, o1, o2, proxy } = await setup(t);
  t.equal(await runtimeCommand(ports.api, 'set server farm/s1 state maint'), '\n');
  t.match(await runtimeCommand(ports.api, 'show stat'), /^farm,s1,(?:[^,]*,){15}MAINT,/m, 'show stat: s1 MAINT');
  const o1Before = o1.requests.length;
  const o2Before = o2.requests.length;
  const { sent } = await load(t, ports.fe, pids, 100, (_h, body) => {
    if (!body.includes('server o2')) t.fail(`a request reached s1 in maintenance: ${body}`);
  });
  t.equal(o1.requests.length, o1Before, 'no request on s1 in maintenance');
  t.equal(o2.requests.length - o2Before, sent, 'every request on s2');
  t.same(sentBy(o2).size, 2, 'both workers sent to s2');
  t.match(await runtimeCommand(ports.api, 'show servers state farm'), /^\d+ farm 1 s1 \S+ \d+ 1 /m, 'show servers state: s1 in forced maintenance');

  t.equal(await runtimeCommand(ports.api, 'set server farm/s1 state ready'), '\n');
  t.equal(await runtimeCommand(ports.api, 'set weight farm/s2 0'), '\n');
  const o1Ready = o1.requests.length;
  await load(t, ports.fe, pids, 60);
  t.ok(o1.requests.length - o1Ready >= 60, 'with s2 at weight 0, s1 takes every request again');
  t.equal(sentBy(o1).size, 2, 'both workers send to s1 again');
  t.equal(await runtimeCommand(ports.api, 'get weight farm/s2'), '0 (initial 1)\n\n');
  t.match(await runtimeCommand(ports.api, 'set server farm/nope state ready'), /No such server/);
  t.match(await runtimeCommand(ports.api, 'bogus'), /Unknown command/);

  // Stick tables are cluster-wide: the first worker's `show table` lists the entry, and its
  // `clear table` empties every worker's copy (the merged entries gauge is the largest copy).
  const stickyAnswers = await Promise.all(Array.from({ length: 25 }, () => get(ports.sticky, '/')));
  t.same(new Set(stickyAnswers.map((a) => a.status)), new Set([200]));
  const entries = async () => Number(/^limpet_stick_table_entries\{table="sticky"\} (\d+)$/m.exec((await get(ports.stats, '/prom')).body)?.[1]);
  await waitFor('the entry in the merged gauge', async () => (await entries()) === 1);
  t.match(await runtimeCommand(ports.api, 'show table sticky'), /^# table: sticky, type: ip, size:100, used:1\n0x[0-9a-f]+: key=127\.0\.0\.1 /);
  t.equal(await runtimeCommand(ports.api, 'clear table sticky'), '\n');
  await waitFor('every worker\'s copy emptied', async () => (await entries()) === 0);
  t.match(await runtimeCommand(ports.api, 'show table sticky'), /used:0/);

  // The new file adds a response header and a second stats socket; the first one stays open.
  const [api2] = await freePorts(1);
  const next = config(ports, `    stats socket ipv4@127.0.0.1:${api2} level admin`).replace('http-response set-header X-Worker %pid', 'http-response set-header X-Worker %pid\n    http-response set-header X-Config v2');
  writeFileSync(proxy.configPath, next);
  t.match(await runtimeCommand(ports.api, 'reload'), /^Reload done/);
  const v2 = new Set<number>();
  await load(t, ports.fe, pids, 60, (headers) => {
    if (headerValues(headers, 'X-Config')[0] === 'v2') v2.add(Number(headerValues(headers, 'X-Worker')[0]));
  });
  t.equal(v2.size, 2, 'both workers run the new configuration');
  t.match(await runtimeCommand(api2!, 'show info'), /^Nbthread: 2$/m, 'the new stats socket answers');
  t.match(await runtimeCommand(ports.api, 'show info'), /^Nbthread: 2$/m, 'the kept stats socket still answers');
  // Counters carry over the reload: www counts every request since start.
  const fe = csvRows(await runtimeCommand(ports.api, 'show stat')).find((r) => r.pxname === 'www' && r.svname === 'FRONTEND')!;
  const viaWww = [...o1.requests, ...o2.requests].filter((r) => r.headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-sent-by')).length;
  t.equal(Number(fe.req_tot), viaWww, 'req_tot across the reload is every request www sent');
});
