// HeadEdit.toBuffer: unchanged lines go out byte for byte (non-ASCII values included), dropped
// lines vanish, replaced lines take their place, appended lines come before the blank line.
import t from 'tap';
import { HeadEdit, MessageHead } from '../../lib/http/message-head.js';

const RAW = 'GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-A: caf\xe9\r\nKeep-Alive: 5\r\nX-B: b\r\n\r\n';
const head = () => new MessageHead(Buffer.from(RAW, 'latin1'));
const named = (h: MessageHead, name: string) => h.headers.find((x) => x.name === name)!;
const text = (b: Buffer) => b.toString('latin1');

t.test('no edit: the raw buffer itself', async (t) => {
  const h = head();
  t.equal(new HeadEdit(h).toBuffer(), h.raw);
});

t.test('drops, replacements, appends and a new start line, in place', async (t) => {
  const h = head();
  const e = new HeadEdit(h);
  e.drop(named(h, 'connection'));
  e.drop(named(h, 'keep-alive'));
  t.equal(text(e.toBuffer()), 'GET /a HTTP/1.1\r\nHost: h\r\nX-A: caf\xe9\r\nX-B: b\r\n\r\n', 'two lines dropped');
  e.replace(named(h, 'x-a'), 'X-A: r\xe9');
  e.append('Connection: keep-alive');
  e.append('X-Forwarded-For: 10.0.0.1');
  t.equal(text(e.toBuffer()), 'GET /a HTTP/1.1\r\nHost: h\r\nX-A: r\xe9\r\nX-B: b\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n');
  e.setStartLine('GET /b HTTP/1.1');
  t.equal(text(e.toBuffer()), 'GET /b HTTP/1.1\r\nHost: h\r\nX-A: r\xe9\r\nX-B: b\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n');
});

t.test('only an append: the whole head kept, the line before the blank line', async (t) => {
  const h = head();
  const e = new HeadEdit(h);
  e.append('Connection: close');
  t.equal(text(e.toBuffer()), RAW.slice(0, -2) + 'Connection: close\r\n\r\n');
});

t.test('first and last header lines dropped', async (t) => {
  const h = head();
  const e = new HeadEdit(h);
  e.drop(named(h, 'host'));
  e.drop(named(h, 'x-b'));
  t.equal(text(e.toBuffer()), 'GET /a HTTP/1.1\r\nConnection: close\r\nX-A: caf\xe9\r\nKeep-Alive: 5\r\n\r\n');
});
