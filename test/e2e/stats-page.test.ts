// The stats page of a running proxy: HAProxy's CSV columns and counters, JSON, Prometheus
// names, `stats auth` and `stats refresh`, and the HTML page rendered by headless Chromium.
import t, { type Test } from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { findChromium, renderedDom } from '../helpers/chromium.js';

const basic = (user: string, pw: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

/** HAProxy's CSV columns, in its order (management.txt 9.1), as dashboards index them. */
const HAPROXY_COLUMNS_PREFIX =
  'pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,' +
  'chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,' +
  'check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot';

async function setup(t: Test) {
  const origin = await startOrigin({ name: 'o1', t });
  const [fePort, statsPort, openPort, deadPort] = await freePorts(4);
  const proxy = await startProxy(t, `
defaults
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:${fePort}
    default_backend farm
backend farm
    server s1 127.0.0.1:${origin.port} check inter 100ms rise 1 fall 1
    server s2 127.0.0.1:${deadPort} check inter 100ms rise 1 fall 1
listen stats
    bind 127.0.0.1:${statsPort}
    stats enable
    stats uri /admin?stats
    stats realm Limpet\\ Stats
    stats auth admin:s3cret
    stats refresh 10s
listen open
    bind 127.0.0.1:${openPort}
    stats uri /
`, { waitPorts: [fePort, statsPort, openPort] });
  return { origin, fePort, statsPort, openPort, proxy };
}

const csvRows = (text: string) => text.trim().split('\n').slice(1).map((l) => l.split(','));

t.test('CSV in HAProxy\'s column order, with counters and server states', async (t) => {
  const { fePort, statsPort } = await setup(t);
  const csvOf = async () => (await get(statsPort, '/admin?stats;csv', basic('admin', 's3cret'))).body;
  // s2 is refused: one failed check takes it down (fall 1).
  await waitFor('s2 DOWN', async () => csvRows(await csvOf()).some((r) => r[0] === 'farm' && r[1] === 's2' && r[17] === 'DOWN'));
  // The readiness probe of startProxy already opened one connection (without a request).
  const before = Number(csvRows(await csvOf()).find((r) => r[0] === 'www' && r[1] === 'FRONTEND')![7]);
  for (let i = 0; i < 5; i++) t.equal((await get(fePort, `/r${i}`)).status, 200);
  const csv = await csvOf();
  const header = csv.split('\n')[0]!;
  t.ok(header.startsWith(`# ${HAPROXY_COLUMNS_PREFIX},`), 'header starts with HAProxy\'s columns in order');
  t.ok(header.endsWith(','), 'lines end with a comma, as HAProxy\'s');
  const cols = header.slice(2).split(',');
  const rows = csvRows(csv).map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]])));
  const row = (px: string, sv: string) => rows.find((r) => r.pxname === px && r.svname === sv);
  t.same(rows.map((r) => `${r.pxname}/${r.svname}`), ['www/FRONTEND', 'farm/s1', 'farm/s2', 'farm/BACKEND', 'stats/FRONTEND', 'stats/BACKEND', 'open/FRONTEND', 'open/BACKEND']);
  const fe = row('www', 'FRONTEND')!;
  t.equal(fe.status, 'OPEN');
  t.equal(Number(fe.stot), before + 5, 'five more connections on the frontend');
  t.equal(fe.req_tot, '5');
  t.equal(fe.hrsp_2xx, '5');
  t.equal(fe.type, '0');
  const s1 = row('farm', 's1')!;
  t.equal(s1.status, 'UP');
  t.equal(s1.stot, '5', 'all five went to the only live server');
  t.equal(s1.hrsp_2xx, '5');
  t.equal(s1.check_status, 'L4OK');
  t.equal(s1.weight, '1');
  t.equal(s1.type, '2');
  t.ok(Number(s1.bout) > 5 * 40, 'response bytes counted on the server');
  const s2 = row('farm', 's2')!;
  t.equal(s2.status, 'DOWN');
  t.equal(s2.check_status, 'L4CON');
  t.equal(s2.stot, '0');
  const be = row('farm', 'BACKEND')!;
  t.equal(be.status, 'UP');
  t.equal(be.act, '1', 'one active server left');
  t.equal(be.stot, '5');
  t.equal(be.algo, 'roundrobin');
  t.equal(be.type, '1');
});

t.test('stats auth, realm and refresh; JSON; Prometheus names', async (t) => {
  const { fePort, statsPort } = await setup(t);
  const denied = await get(statsPort, '/admin?stats');
  t.equal(denied.status, 401);
  t.same(denied.headers.filter(([k]) => k.toLowerCase() === 'www-authenticate').map(([, v]) => v), ['Basic realm="Limpet Stats"']);
  t.equal((await get(statsPort, '/admin?stats', basic('admin', 'wrong'))).status, 401);
  const page = await get(statsPort, '/admin?stats', basic('admin', 's3cret'));
  t.equal(page.status, 200);
  t.same(page.headers.filter(([k]) => k === 'Refresh').map(([, v]) => v), ['10']);
  t.match(page.body, /<table class="proxy" id="proxy-farm"/);

  t.equal((await get(fePort, '/x')).status, 200);
  // Connections: the readiness probe and this request; requests: this one.
  const json = JSON.parse((await get(statsPort, '/admin?stats;json', basic('admin', 's3cret'))).body) as Array<Array<{ objType: string; field: { pos: number; name: string }; value: { value: unknown } }>>;
  const feRow = json.find((r) => r.some((f) => f.field.name === 'pxname' && f.value.value === 'www'))!;
  t.equal(feRow[0]!.objType, 'Frontend');
  t.same(feRow.find((f) => f.field.name === 'stot')?.value, { type: 'u64', value: 2 });
  t.same(feRow.find((f) => f.field.name === 'req_tot')?.value, { type: 'u64', value: 1 });
  t.equal(feRow.find((f) => f.field.name === 'status')?.field.pos, 17);

  const prom = (await get(statsPort, '/admin?stats;prometheus', basic('admin', 's3cret'))).body;
  t.match(prom, /^# HELP haproxy_process_start_time_seconds /m);
  t.match(prom, /^haproxy_frontend_sessions_total\{proxy="www"\} 2$/m);
  t.match(prom, /^haproxy_frontend_http_requests_total\{proxy="www"\} 1$/m);
  t.match(prom, /^haproxy_frontend_http_responses_total\{proxy="www",code="2xx"\} 1$/m);
  t.match(prom, /^haproxy_backend_sessions_total\{proxy="farm"\} 1$/m);
  t.match(prom, /^haproxy_server_sessions_total\{proxy="farm",server="s1"\} 1$/m);
  t.match(prom, /^haproxy_server_status\{proxy="farm",server="s1",state="UP"\} 1$/m);
  t.match(prom, /^# TYPE haproxy_server_bytes_out_total counter$/m);
  t.match(prom, /^limpet_build_info\{version="[^"]+"\} 1$/m);
  // Every sample line is `name{labels} number`.
  for (const line of prom.split('\n').filter((l) => l && !l.startsWith('#'))) {
    if (!/^[a-z_]+(\{[^}]*\})? -?[\d.e+-]+$/.test(line)) t.fail(`malformed sample: ${line}`);
  }
  // The stats request is logged as served locally, and unrelated URIs still reach the backend.
  const passed = await get(fePort, '/admin?stats');
  t.not(passed.status, 401, 'the www frontend has no stats: no auth asked');
  t.notMatch(passed.body, /Statistics Report/, 'the www frontend has no stats: its backend answers');
});

t.test('the HTML page in headless Chromium', async (t) => {
  const chromium = findChromium();
  if (!chromium) {
    if (process.env.CI) return t.fail('chromium is required in CI (apt-get install -y chromium)');
    console.error('# SKIPPING the browser check: chromium is not installed (apt-get install -y chromium)');
    t.plan(0, 'skipped: chromium is not installed');
    return;
  }
  const { openPort, fePort } = await setup(t);
  t.equal((await get(fePort, '/')).status, 200);
  const dom = await renderedDom(t, chromium, `http://127.0.0.1:${openPort}/`);
  t.match(dom, /<title>Statistics Report for limpet/);
  for (const px of ['www', 'farm', 'stats', 'open']) t.match(dom, new RegExp(`<table class="proxy" id="proxy-${px}"`), `table for ${px}`);
  const s1 = /<tr class="server ([^"]+)" data-row="s1">(.*?)<\/tr>/.exec(dom);
  t.ok(s1, 'a row for server s1');
  t.equal(s1![1], 'up');
  const cells = [...s1![2]!.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]);
  t.equal(cells[0], 's1');
  t.equal(cells[5], '1', 'one total session on s1');
  t.match(cells[14], /UP$/);
  await waitFor('s2 DOWN in the page', async () => (await get(openPort, '/')).body.includes('<tr class="server down" data-row="s2">'));
});

t.test('http-request use-service prometheus-exporter on a path', async (t) => {
  const origin = await startOrigin({ name: 'o1', t });
  const [fePort] = await freePorts(1);
  await startProxy(t, `
defaults
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:${fePort}
    acl is_metrics path /metrics
    http-request use-service prometheus-exporter if is_metrics
    default_backend farm
backend farm
    server s1 127.0.0.1:${origin.port}
`, { waitPorts: [fePort] });
  t.equal((await get(fePort, '/app')).status, 200);
  const res = await get(fePort, '/metrics');
  t.equal(res.status, 200);
  t.match(res.body, /^haproxy_server_sessions_total\{proxy="farm",server="s1"\} 1$/m);
  t.match(res.body, /^haproxy_frontend_http_requests_total\{proxy="www"\} \d+$/m);
  t.equal(origin.requests.filter((r) => r.url === '/metrics').length, 0, 'the exporter answered, not the server');
});
