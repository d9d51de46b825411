// The RDP connection request's routing cookie, and the msts cookie's address encoding.
import t from 'tap';
import { decodeMstsCookie, encodeMstsCookie, parseRdpCookie } from '../../lib/tcp/rdp-cookie.js';
import { rdpConnectionRequest } from './tcp-test-helpers.js';

t.test('the cookie line of a connection request', async (t) => {
  t.same(parseRdpCookie(rdpConnectionRequest('Cookie: mstshash=alice\r\n')), { kind: 'cookie', name: 'mstshash', value: 'alice' });
  t.same(parseRdpCookie(rdpConnectionRequest('Cookie: msts=16777226.15629.0000\r\n')), { kind: 'cookie', name: 'msts', value: '16777226.15629.0000' });
});

t.test('incomplete until the whole TPKT has arrived', async (t) => {
  const req = rdpConnectionRequest('Cookie: mstshash=bob\r\n');
  for (let i = 0; i < req.length; i++) t.equal(parseRdpCookie(req.subarray(0, i)).kind, 'incomplete', `prefix ${i}`);
});

t.test('not RDP, or no cookie: none', async (t) => {
  t.same(parseRdpCookie(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { kind: 'none' });
  t.same(parseRdpCookie(rdpConnectionRequest('')), { kind: 'none' });
  const notCr = rdpConnectionRequest('Cookie: mstshash=x\r\n');
  notCr[5] = 0xd0; // Connection Confirm, not Request
  t.same(parseRdpCookie(notCr), { kind: 'none' });
});

t.test('msts encodes the address little-endian and the port byte-swapped', async (t) => {
  t.same(decodeMstsCookie('16777226.15629.0000'), { host: '10.0.0.1', port: 3389 });
  t.equal(encodeMstsCookie('10.0.0.1', 3389), '16777226.15629.0000');
  t.equal(encodeMstsCookie('127.0.0.1', 40000), '16777343.16540.0000');
  t.same(decodeMstsCookie(encodeMstsCookie('192.168.200.254', 65535)), { host: '192.168.200.254', port: 65535 });
  t.equal(decodeMstsCookie('garbage'), undefined);
  t.equal(decodeMstsCookie('99999999999.1.0000'), undefined);
});
