// `balance url_param NAME check_post` through the built proxy on real sockets: a POST without
// the parameter in its query string is placed on the parameter in its form body, on the same
// server a GET with it in the query reaches; a body without it is balanced round robin; the
// body may arrive in pieces, chunked, after `Expect: 100-continue`, or be larger than the
// buffer (the request is placed once the buffer is full, not when the body ends). Side by side
// with HAProxy (when installed), which reads POST bodies with or without check_post.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { haveHaproxy, startHaproxy } from '../balance/haproxy-harness.js';

const BUFSIZE = 4096;

const config = (port: number, origins: Origin[], balance = 'balance url_param sid check_post') => `
global
    tune.bufsize ${BUFSIZE}
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    ${balance}
${origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n')}
`;

interface Step {
  send: string | Buffer;
  /** wait this long before the next step */
  pause?: number;
  /** before the next step, wait (at most 2s) until this holds */
  until?: (received: string) => boolean;
}

/** Sends the steps on one connection (`Connection: close` requests) and returns all it got back. */
const exchange = (port: number, steps: Step[]): Promise<string> =>
  new Promise((resolve, reject) => {
    let received = '';
    const socket = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer; got: ${received.slice(0, 200)}`));
    }, 5000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('connect', async () => {
      for (const s of steps) {
        socket.write(s.send);
        if (s.pause) await sleep(s.pause);
        for (let i = 0; s.until && !s.until(received) && i < 200; i++) await sleep(10);
      }
    });
  });

const serverOf = (answer: string): string => /server (\S+)/.exec(answer)?.[1] ?? `no server in ${JSON.stringify(answer.slice(0, 120))}`;

const post = (path: string, body: string, extra = ''): string =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

t.test('url_param check_post', async (t) => {
  const origins = await Promise.all(['o1', 'o2', 'o3'].map((name) => startOrigin({ name, t })));
  const port = await freePort();
  await startProxy(t, config(port, origins), { waitPorts: [port] });
  const viaQuery = new Map<string, string>();
  for (let i = 0; i < 12; i++) {
    const key = `k${i}`;
    viaQuery.set(key, serverOf(await exchange(port, [{ send: `GET /x?sid=${key} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n` }])));
  }
  t.ok(new Set(viaQuery.values()).size >= 2, `the keys spread over servers (${[...new Set(viaQuery.values())]})`);

  await t.test('the parameter in the body picks the server the query picks', async (t) => {
    const wrong: string[] = [];
    for (const [key, want] of viaQuery) {
      const got = serverOf(await exchange(port, [{ send: post('/x', `a=1&sid=${key}&b=2`) }]));
      if (got !== want) wrong.push(`${key}: body -> ${got}, query -> ${want}`);
    }
    t.same(wrong, []);
    // the query string wins over the body
    const got = serverOf(await exchange(port, [{ send: post('/x?sid=k1', 'sid=k2') }]));
    t.equal(got, viaQuery.get('k1'), 'the query parameter is used first');
  });

  await t.test('without the parameter, round robin', async (t) => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(serverOf(await exchange(port, [{ send: post('/x', 'a=1&b=2') }])));
    t.same(new Set(seen).size, 3, `every server takes a turn (${seen})`);
    // not URL-encoded: the value's first byte is not a token character
    const seen2: string[] = [];
    for (let i = 0; i < 6; i++) seen2.push(serverOf(await exchange(port, [{ send: post('/x', 'sid={"a":1}') }])));
    t.same(new Set(seen2).size, 3, `a body that is not URL-encoded gives no key (${seen2})`);
    // no body at all: nothing to wait for
    const empty = await exchange(port, [{ send: 'POST /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n' }]);
    t.match(empty, /^HTTP\/1\.1 200/, 'an empty POST is served at once');
  });

  await t.test('a body split across writes', async (t) => {
    const body = 'a=1&sid=k3&b=2';
    const head = post('/x', body).slice(0, -body.length);
    const got = await exchange(port, [{ send: head, pause: 80 }, { send: 'a=1&s', pause: 80 }, { send: 'id=k3&b=2' }]);
    t.equal(serverOf(got), viaQuery.get('k3'));
    t.equal(origins.find((o) => o.name === viaQuery.get('k3'))!.requests.at(-1)!.body.toString(), body, 'the body reaches the server whole');
    const chunked = await exchange(port, [
      { send: 'POST /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\na=1&\r\n', pause: 80 },
      { send: '6\r\nsid=k4\r\n', pause: 80 },
      { send: '0\r\n\r\n' },
    ]);
    t.equal(serverOf(chunked), viaQuery.get('k4'), 'a chunked body is read through its chunks');
  });

  await t.test('Expect: 100-continue is answered while the body is awaited', async (t) => {
    const body = 'sid=k5';
    const head = post('/x', body, 'Expect: 100-continue\r\n').slice(0, -body.length);
    const got = await exchange(port, [{ send: head, until: (r) => r.includes('100 Continue') }, { send: body }]);
    t.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    t.equal(serverOf(got), viaQuery.get('k5'));
  });

  await t.test('a body larger than the buffer: placed once the buffer is full', async (t) => {
    const body = `sid=k6&pad=${'x'.repeat(BUFSIZE * 4)}`;
    const head = post('/x', body).slice(0, -body.length);
    const before = origins.map((o) => o.connections);
    const opened = () => origins.some((o, i) => o.connections > before[i]!);
    let placedEarly = false;
    const got = await exchange(port, [
      { send: head + body.slice(0, BUFSIZE + 100), until: () => (placedEarly = opened()) },
      { send: body.slice(BUFSIZE + 100) },
    ]);
    t.ok(placedEarly, 'a server connection opened before the rest of the body was sent');
    const want = viaQuery.get('k6');
    t.equal(serverOf(got), want);
    t.equal(origins.find((o) => o.name === want)!.requests.at(-1)!.body.length, body.length, 'the whole body reaches the server');
  });
});

t.test('POST bodies reach the server HAProxy picks', { skip: haveHaproxy() ? false : 'haproxy is not installed' }, async (t) => {
  const origins = await Promise.all(['o1', 'o2', 'o3'].map((name) => startOrigin({ name, t })));
  const bodies: string[] = [];
  for (let i = 0; i < 8; i++) {
    bodies.push(
      `a=1&sid=k${i}&b=2`,
      `sid=k${i} and more`,
      `sid={"x":${i}}`,
      `sid=k${i}%20x+y`,
      `nosid=1&xsid=k${i}`,
      `sid=k${i}&pad=${'x'.repeat(BUFSIZE + 2000)}`,
      `pad=${'x'.repeat(BUFSIZE + 2000)}&sid=k${i}`,
    );
  }
  for (const balance of ['balance url_param sid check_post', 'balance url_param sid']) {
    await t.test(balance, async (t) => {
      const [hp, lp] = await Promise.all([freePort(), freePort()]);
      await startHaproxy(t, config(hp, origins, balance), hp);
      await startProxy(t, config(lp, origins, balance), { waitPorts: [lp] });
      const differ: string[] = [];
      const seen = new Set<string>();
      for (const body of bodies) {
        const theirs = serverOf(await exchange(hp, [{ send: post('/x', body) }]));
        const ours = serverOf(await exchange(lp, [{ send: post('/x', body) }]));
        seen.add(ours);
        if (theirs !== ours) differ.push(`${body.slice(0, 40)}: haproxy ${theirs}, limpet ${ours}`);
      }
      t.same(differ, [], `${bodies.length} POSTs on the same servers`);
      t.equal(seen.size, 3, 'the bodies spread over every server');
    });
  }
});
