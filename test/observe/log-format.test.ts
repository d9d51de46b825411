// The log-format compiler and the syslog framings, on fixed records: exact HAProxy lines.
process.env.TZ = 'UTC';
import t from 'tap';
import { compileLogFormat, HTTPLOG_FORMAT, TCPLOG_FORMAT } from '../../lib/observe/log-format.js';
import { frameLine } from '../../lib/observe/log-sink.js';
import { emptyRecord, type TrafficRecord } from '../../lib/observe/traffic-record.js';

const live = { actconn: 3, feconn: 2, beconn: 1, srvconn: 1 };
// 2026-11-25T04:43:37.123Z
const ACCEPT = Date.UTC(2026, 10, 25, 4, 43, 37, 123);

function httpRecord(over: Partial<TrafficRecord> = {}): TrafficRecord {
  return {
    ...emptyRecord('http', 'www', ACCEPT),
    backend: 'websvrs',
    server: 'websvr1',
    clientIp: '10.0.0.7',
    clientPort: 51234,
    frontendIp: '10.0.0.1',
    frontendPort: 80,
    Ti: 5,
    TR: 2,
    Tw: 0,
    Tc: 1,
    Tr: 12,
    Tt: 25,
    status: 200,
    bytesOut: 352,
    bytesIn: 78,
    termination: '--',
    clientCookie: 'N',
    serverCookie: 'I',
    requestLine: 'GET /index.html?a=1 HTTP/1.1',
    ...over,
  };
}

t.test('option httplog gives HAProxy\'s line, with no double spaces for empty captures', async (t) => {
  const line = compileLogFormat(HTTPLOG_FORMAT)(httpRecord(), live);
  // %tr is accept date + Th + Ti; Ta = Tt - Th - Ti.
  t.equal(line, '10.0.0.7:51234 [25/Nov/2026:04:43:37.128] www websvrs/websvr1 2/0/1/12/20 200 352 - - --NI 3/2/1/1/0 0/0 "GET /index.html?a=1 HTTP/1.1"');
});

t.test('httplog of a request that never reached a server', async (t) => {
  const line = compileLogFormat(HTTPLOG_FORMAT)(
    httpRecord({ server: '<NOSRV>', Tw: -1, Tc: -1, Tr: -1, status: 503, bytesOut: 217, termination: 'SC', clientCookie: '-', serverCookie: '-', retries: 3, redispatched: true }),
    live,
  );
  t.equal(line, '10.0.0.7:51234 [25/Nov/2026:04:43:37.128] www websvrs/<NOSRV> 2/-1/-1/-1/20 503 217 - - SC-- 3/2/1/1/+3 0/0 "GET /index.html?a=1 HTTP/1.1"');
});

t.test('httplog quotes and escapes a bad request line', async (t) => {
  const line = compileLogFormat(HTTPLOG_FORMAT)(httpRecord({ requestLine: 'GET /"x"\x01 HTTP/1.1' }), live);
  t.match(line, /"GET \/#22x#22#01 HTTP\/1.1"$/);
});

t.test('option tcplog gives HAProxy\'s line', async (t) => {
  const r: TrafficRecord = { ...httpRecord(), mode: 'tcp', Tw: 0, Tc: 3, Tt: 1500, bytesOut: 4096, termination: 'CD', clientCookie: '-', serverCookie: '-' };
  t.equal(compileLogFormat(TCPLOG_FORMAT)(r, live), '10.0.0.7:51234 [25/Nov/2026:04:43:37.123] www websvrs/websvr1 0/3/1500 4096 CD 3/2/1/1/0 0/0');
});

t.test('log-format: common variables, literal text, %% and flags', async (t) => {
  const f = compileLogFormat('%ci %HM %HP %HQ %HV %ST %{+Q}HU %U %Tq %Ta %ts %tsc %b/%s %si:%sp 100%%');
  t.equal(f(httpRecord(), live), '10.0.0.7 GET /index.html ?a=1 HTTP/1.1 200 "/index.html?a=1" 78 7 20 -- --NI websvrs/websvr1 -:0 100%');
});

t.test('log-format errors name the variable', async (t) => {
  t.throws(() => compileLogFormat('%ci %nosuch'), { code: 'LIMPET_ERR_LOG_FORMAT' });
  t.throws(() => compileLogFormat('%ci %nosuch'), /unknown log-format variable '%nosuch'/);
  t.throws(() => compileLogFormat('%[src]'), /sample expressions/);
  t.throws(() => compileLogFormat('%{+Z}r'), /unknown flag/);
});

t.test('syslog framings', async (t) => {
  const now = new Date(ACCEPT);
  // local0 (16) * 8 + info (6) = 134
  t.equal(frameLine('rfc3164', 16, 6, 'hello', now), `<134>Nov 25 04:43:37 limpet[${process.pid}]: hello`);
  t.match(frameLine('rfc5424', 16, 6, 'hello', now), new RegExp(`^<134>1 2026-11-25T04:43:37.123Z \\S+ limpet ${process.pid} - - hello$`));
  t.equal(frameLine('raw', 16, 6, 'hello', now), 'hello');
  t.equal(frameLine('short', 16, 6, 'hello', now), '<6>hello');
  // single-digit days are padded with a space
  t.equal(frameLine('rfc3164', 1, 3, 'x', new Date(Date.UTC(2026, 0, 5, 1, 2, 3))), `<11>Jan  5 01:02:03 limpet[${process.pid}]: x`);
});
