import t from 'tap';
import { ConfigError } from '../../lib/config/config-error.js';
import { splitLine } from '../../lib/config/lexer.js';

const where = { file: 'lex.cfg', line: 7 };
const env = { HOME_DIR: '/home/x', PORT: '8080', EMPTY: '' };
const split = (line: string) => splitLine(line, where, env);

function lexError(line: string): ConfigError {
  try {
    split(line);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`no error for ${line}`);
}

t.test('whitespace separates words, runs of blanks and tabs count once', async (t) => {
  t.same(split('  server \t web1   127.0.0.1:80  '), ['server', 'web1', '127.0.0.1:80']);
  t.same(split(''), []);
  t.same(split('   \t '), []);
  t.same(split('mode http\r'), ['mode', 'http']);
});

t.test('# starts a comment unless quoted or escaped', async (t) => {
  t.same(split('# whole line'), []);
  t.same(split('mode http # trailing'), ['mode', 'http']);
  t.same(split('mode http#glued'), ['mode', 'http']);
  t.same(split('attr "a#b"'), ['attr', 'a#b']);
  t.same(split("attr 'a#b'"), ['attr', 'a#b']);
  t.same(split('attr a\\#b'), ['attr', 'a#b']);
});

t.test('double quotes group and expand environment variables', async (t) => {
  t.same(split('log "hello world" local0'), ['log', 'hello world', 'local0']);
  t.same(split('bind ":${PORT}"'), ['bind', ':8080']);
  t.same(split('x "${HOME_DIR}/sock"'), ['x', '/home/x/sock']);
  t.same(split('x "${EMPTY}"'), ['x', ''], 'a set but empty variable gives an empty word');
  t.same(split('x "${MISSING-fallback}"'), ['x', 'fallback'], '${NAME-default} uses the default when unset');
  t.same(split('x "${PORT-9}"'), ['x', '8080'], '${NAME-default} uses the value when set');
  t.same(split('x "${MISSING-}"'), ['x', '']);
  t.same(split('x ${PORT}'), ['x', '${PORT}'], 'no expansion outside double quotes');
  t.same(split('x "$PORT"'), ['x', '$PORT'], 'only the braced form expands');
  t.same(split('x ""'), ['x', ''], 'empty quotes make an empty word');
  t.same(split('x a"b c"d'), ['x', 'ab cd'], 'quotes concatenate with adjacent text');
});

t.test('environment defaults to process.env', async (t) => {
  process.env.LIMPET_LEXER_TEST = 'yes';
  t.same(splitLine('x "${LIMPET_LEXER_TEST}"', where), ['x', 'yes']);
  delete process.env.LIMPET_LEXER_TEST;
});

t.test('single quotes group without expansion or escapes', async (t) => {
  t.same(split("x '${PORT} \\n'"), ['x', '${PORT} \\n']);
  t.same(split("x 'it\"s'"), ['x', 'it"s']);
  t.same(split('x "it\'s"'), ['x', "it's"]);
});

t.test('backslash escapes', async (t) => {
  t.same(split('x a\\ b'), ['x', 'a b']);
  t.same(split('x a\\\\b'), ['x', 'a\\b']);
  t.same(split('x \\"q\\"'), ['x', '"q"']);
  t.same(split("x \\'q\\'"), ['x', "'q'"]);
  t.same(split('x \\r\\n\\t'), ['x', '\r\n\t']);
  t.same(split('x \\x41\\x7e'), ['x', 'A~']);
  t.same(split('x "a\\"b\\x20c"'), ['x', 'a"b c'], 'escapes work inside double quotes');
  t.same(split('x "\\${PORT}"'), ['x', '\\${PORT}'], 'an escaped $ is not expanded, and keeps its backslash');
  t.same(split('x ^/a\\.b\\d$'), ['x', '^/a\\.b\\d$'], 'other escapes keep the backslash, as HAProxy does for regexes');
});

t.test('errors carry file:line and a stable code', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['log "unterminated', 'LIMPET_CONFIG_SYNTAX', /unterminated double quote/],
    ["log 'unterminated", 'LIMPET_CONFIG_SYNTAX', /unterminated single quote/],
    ['x "${NOPE}"', 'LIMPET_CONFIG_UNKNOWN_VARIABLE', /environment variable 'NOPE' is not set/],
    ['x "${PORT"', 'LIMPET_CONFIG_SYNTAX', /unterminated variable/],
    ['x "${1BAD}"', 'LIMPET_CONFIG_SYNTAX', /invalid variable name '1BAD'/],
    ['x \\xZZ', 'LIMPET_CONFIG_SYNTAX', /invalid escape/],
    ['x \\', 'LIMPET_CONFIG_SYNTAX', /backslash at end of line/],
  ];
  for (const [line, code, re] of cases) {
    const err = lexError(line);
    t.equal(err.code, code, line);
    t.match(err.message, /^parsing \[lex\.cfg:7\] : /, line);
    t.match(err.message, re, line);
    t.equal(err.file, 'lex.cfg');
    t.equal(err.line, 7);
  }
  t.equal(lexError('"${NOPE}" x').keyword, '', 'an error in the first word has no keyword yet');
  t.equal(lexError('log "${NOPE}"').keyword, 'log');
});
