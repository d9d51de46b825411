// SHA-crypt against the specification's own examples and hashes made by `openssl passwd` and glibc crypt(3).
import t from 'tap';
import { shaCrypt, verifyShaCrypt } from '../../lib/rules/sha-crypt.js';

t.test('the specification examples (the rounds example as glibc computes it)', async (t) => {
  t.equal(shaCrypt('Hello world!', 'sha256', 'saltstring'), '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
  t.equal(shaCrypt('Hello world!', 'sha512', 'saltstring'), '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
  t.equal(
    shaCrypt('Hello world!', 'sha512', 'saltstringsaltstring', 10000, true),
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
  );
  t.equal(
    shaCrypt('we have a short salt string but not a short password', 'sha256', 'roundstoolow', 1000, true),
    '$5$rounds=1000$roundstoolow$p20OiWa5GmKDHyeQuvXKgAXjYozUMLD5yQL6RzRpZCC',
  );
});

t.test('hashes made by openssl passwd verify, wrong passwords do not', async (t) => {
  t.ok(verifyShaCrypt('sesame', '$5$abcdefgh$4PbtPZdUc33o7LmNsM4HTsjYbIhyCeh4aCe.rEbHkq1'));
  t.notOk(verifyShaCrypt('Sesame', '$5$abcdefgh$4PbtPZdUc33o7LmNsM4HTsjYbIhyCeh4aCe.rEbHkq1'));
  t.ok(verifyShaCrypt('pässword', '$6$Q9yz.w1$XUly1Y0yLOAD7fluwuHAx.OtJyohyiHHFj.o6pJbHrxLIi1yHrqzm9xeIRSHVmiegnjr7/ReqoA028.gb.f5K0'));
  t.ok(verifyShaCrypt('', '$6$xyz$jdHJneX6eYV7DP95OgtnE1J5bHq1yUumSdLXo09t/VEMjhG5QzsLETLqiWjslhYH9CihD0nXyST9wmd80QDa9/'));
  t.notOk(verifyShaCrypt('x', '$6$xyz$jdHJneX6eYV7DP95OgtnE1J5bHq1yUumSdLXo09t/VEMjhG5QzsLETLqiWjslhYH9CihD0nXyST9wmd80QDa9/'));
  t.notOk(verifyShaCrypt('sesame', '$1$abc$def'), 'MD5-crypt is not a SHA-crypt hash');
});
