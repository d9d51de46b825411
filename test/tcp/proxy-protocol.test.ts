// PROXY protocol v1/v2: what we parse from a load balancer in front and what we send to
// servers, including every split point of a header (bytes arrive in any chunking).
import t from 'tap';
import {
  normaliseFamilies,
  parseProxyHeader,
  proxyHeaderV1,
  proxyHeaderV2,
  type ProxiedAddresses,
} from '../../lib/tcp/proxy-protocol.js';

const v4: ProxiedAddresses = { family: 'tcp4', srcAddress: '192.0.2.10', srcPort: 51234, dstAddress: '198.51.100.7', dstPort: 443 };
const v6: ProxiedAddresses = { family: 'tcp6', srcAddress: '2001:db8::1', srcPort: 1, dstAddress: '2001:db8:0:1::ff', dstPort: 65535 };

t.test('v1 lines parse to addresses, and the length covers the CRLF only', async (t) => {
  const line = Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.7 51234 443\r\nGET / HTTP/1.1\r\n');
  const r = parseProxyHeader(line);
  t.same(r, { kind: 'header', version: 1, length: 46, addresses: v4 });
  t.same(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8:0:1::ff 1 65535\r\n')), {
    kind: 'header', version: 1, length: 49, addresses: v6,
  });
  t.same(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')), { kind: 'header', version: 1, length: 35, addresses: undefined });
});

t.test('v1: bad lines are invalid, partial ones incomplete', async (t) => {
  const bad = [
    'GET / HTTP/1.1\r\n',
    'PROXY TCP4 192.0.2.10 198.51.100.7 51234\r\n',
    'PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n',
    'PROXY TCP4 192.0.2.10 198.51.100.7 051234 443\r\n',
    'PROXY TCP4 192.0.2.10 198.51.100.7 65536 443\r\n',
    'PROXY UDP4 192.0.2.10 198.51.100.7 1 2\r\n',
    'PROXY TCP4 192.0.2.10  198.51.100.7 1 2\r\n',
    'PROXY ' + 'x'.repeat(120),
  ];
  for (const b of bad) t.equal(parseProxyHeader(Buffer.from(b)).kind, 'invalid', JSON.stringify(b));
  for (const p of ['P', 'PROXY', 'PROXY TCP4 192.0.2.10']) t.equal(parseProxyHeader(Buffer.from(p)).kind, 'incomplete', p);
});

t.test('v2 round trip for IPv4, IPv6 and LOCAL', async (t) => {
  for (const a of [v4, v6]) {
    const h = proxyHeaderV2(a);
    t.same(parseProxyHeader(Buffer.concat([h, Buffer.from('payload')])), { kind: 'header', version: 2, length: h.length, addresses: a });
  }
  const local = proxyHeaderV2(undefined);
  t.same(parseProxyHeader(local), { kind: 'header', version: 2, length: 16, addresses: undefined });
});

t.test('v2 with TLVs after the addresses: the TLVs are skipped', async (t) => {
  const h = proxyHeaderV2(v4);
  const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_NOOP, 3 bytes
  const withTlv = Buffer.concat([h, tlv]);
  withTlv.writeUInt16BE(12 + tlv.length, 14);
  t.same(parseProxyHeader(withTlv), { kind: 'header', version: 2, length: withTlv.length, addresses: v4 });
});

t.test('v2: bad signature, version, command or short blocks are invalid', async (t) => {
  const h = proxyHeaderV2(v4);
  const corrupt = (i: number, v: number) => {
    const c = Buffer.from(h);
    c[i] = v;
    return c;
  };
  t.equal(parseProxyHeader(corrupt(5, 0x00)).kind, 'invalid', 'signature');
  t.equal(parseProxyHeader(corrupt(12, 0x11)).kind, 'invalid', 'version 1 in a v2 header');
  t.equal(parseProxyHeader(corrupt(12, 0x22)).kind, 'invalid', 'unknown command');
  const short = Buffer.from(h.subarray(0, 16 + 8));
  short.writeUInt16BE(8, 14);
  t.equal(parseProxyHeader(short).kind, 'invalid', 'IPv4 block shorter than 12 bytes');
  const huge = Buffer.from(h);
  huge.writeUInt16BE(60000, 14);
  t.equal(parseProxyHeader(huge).kind, 'invalid', 'declared length over the cap');
});

t.test('every prefix of a valid header is incomplete, never invalid', async (t) => {
  for (const h of [proxyHeaderV1(v4), proxyHeaderV1(v6), proxyHeaderV2(v4), proxyHeaderV2(v6)]) {
    for (let i = 0; i < h.length; i++) {
      const r = parseProxyHeader(h.subarray(0, i));
      if (r.kind !== 'incomplete') t.fail(`prefix ${i} of ${h.toString('hex')} gave ${r.kind}`);
    }
  }
  t.pass('all prefixes incomplete');
});

t.test('serialised v1 matches the specification text', async (t) => {
  t.equal(proxyHeaderV1(v4).toString(), 'PROXY TCP4 192.0.2.10 198.51.100.7 51234 443\r\n');
  t.equal(proxyHeaderV1(undefined).toString(), 'PROXY UNKNOWN\r\n');
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the header says TCP4.
  const mapped = { ...v4, family: 'tcp6' as const, srcAddress: '::ffff:192.0.2.10', dstAddress: '::ffff:198.51.100.7' };
  t.equal(proxyHeaderV1(mapped).toString(), 'PROXY TCP4 192.0.2.10 198.51.100.7 51234 443\r\n');
  // Mixed families become IPv6 on both sides.
  t.same(normaliseFamilies({ ...v4, dstAddress: '::1' }).srcAddress, '::ffff:192.0.2.10');
  const mixedV2 = parseProxyHeader(proxyHeaderV2({ ...v4, dstAddress: '::1' }));
  t.match(mixedV2, { kind: 'header', addresses: { family: 'tcp6', srcAddress: '::ffff:c000:20a', dstAddress: '::1' } });
});

t.test('serialised v2 bytes', async (t) => {
  t.equal(
    proxyHeaderV2(v4).toString('hex'),
    '0d0a0d0a000d0a515549540a' + '21' + '11' + '000c' + 'c000020a' + 'c6336407' + 'c822' + '01bb',
  );
});
