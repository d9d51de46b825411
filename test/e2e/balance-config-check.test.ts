// `limpet -c` on the balancing lines this work opened up: url_param with check_post and hash
// expressions with converters are accepted; an unknown converter or fetch is an error naming
// the file, the line and the keyword.
import t from 'tap';
import { runCli, writeTempConfig } from '../helpers/proxy-process.js';

const cfg = (balance: string) => `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend be
    ${balance}
    server a 127.0.0.1:8001
`;

t.test('accepted', async (t) => {
  for (const balance of ['balance url_param sid check_post', 'balance url_param sid check_post 64', 'balance hash req.hdr(host),lower', 'balance hash req.cook(SID),field(1,.),upper']) {
    const r = await runCli(['-c', '-f', writeTempConfig(t, cfg(balance))]);
    t.equal(r.code, 0, `${balance}: ${r.stderr}`);
  }
});

t.test('refused with file, line and keyword', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['balance hash req.hdr(host),nosuchconv', /limpet\.cfg:7\].*'balance'.*unsupported converter 'nosuchconv'/],
    ['balance hash req.hdr(host),field(1)', /limpet\.cfg:7\].*'balance'.*converter 'field' expects 2 to 3 argument/],
    ['balance hash query,lower', /limpet\.cfg:7\].*'balance'.*unsupported sample expression 'query,lower'/],
    ['balance url_param sid check_get', /limpet\.cfg:7\].*unknown 'url_param' option 'check_get'/],
  ];
  for (const [balance, want] of cases) {
    const r = await runCli(['-c', '-f', writeTempConfig(t, cfg(balance))]);
    t.not(r.code, 0, `${balance} is refused`);
    t.match(r.stderr + r.stdout, want);
  }
});
