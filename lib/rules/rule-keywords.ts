// The proxy-section keywords of the L7 rules: acl, use_backend, use-server, http-request,
// http-response, monitor-uri, errorfile, option forwardfor / originalto, unique-id-format and
// unique-id-header. proxy-keywords.ts adds these entries to its table.
import { readFileSync } from 'node:fs';
import { compileAcl } from '../acl/acl.js';
import { compileCondition, splitCondition } from '../acl/condition.js';
import { compileLogFormat } from '../acl/log-format.js';
import { compileMatcher, PatternError } from '../acl/pattern-match.js';
import { collectReferences } from '../acl/sample-expr.js';
import { ConfigErrorCode } from '../config/config-error.js';
import type { Keyword, KeywordContext, SectionKind } from '../config/keyword-context.js';
import type { ProxyConfig } from '../config/types.js';
import { parseHttpRule } from './http-actions.js';
import { newProxyRules, type ForwardedHeader, type ProxyRules } from './proxy-rules.js';
import { ERROR_CODES } from './responses.js';

type P = Keyword<ProxyConfig>;

const ALL: readonly SectionKind[] = ['defaults', 'frontend', 'listen', 'backend'];
const FE: readonly SectionKind[] = ['defaults', 'frontend', 'listen'];
const PROXIES: readonly SectionKind[] = ['frontend', 'listen', 'backend'];
const FE_ONLY: readonly SectionKind[] = ['frontend', 'listen'];
const BE_ONLY: readonly SectionKind[] = ['listen', 'backend'];

/** The proxy's rules, created on its first rule keyword. */
function rules(p: ProxyConfig): ProxyRules {
  return (p.rules ??= newProxyRules());
}

/** Parses with fetch references (nbsrv, http_auth) recorded on the proxy. */
function withRefs(p: ProxyConfig, parse: () => void): void {
  collectReferences((kind, name, where) => rules(p).references.push({ kind, name, where }), parse);
}

function forwardedHeader(ctx: KeywordContext, defaultHeader: string, allowIfNone: boolean): ForwardedHeader {
  const out: ForwardedHeader = { header: defaultHeader, ifNone: false };
  const a = ctx.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i]!;
    if (w === 'except') {
      const net = ctx.arg(++i, "network after 'except'");
      try {
        out.except = compileMatcher('ip', [net], false);
      } catch (err) {
        if (err instanceof PatternError) ctx.fail(err.message);
        throw err;
      }
    } else if (w === 'header') {
      out.header = ctx.arg(++i, "header name after 'header'");
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(out.header)) ctx.fail(`invalid header name '${out.header}'`);
    } else if (w === 'if-none' && allowIfNone) out.ifNone = true;
    else ctx.fail(`unknown option '${w}'`, ConfigErrorCode.UNKNOWN_OPTION);
  }
  return out;
}

export const RULE_KEYWORDS: Array<[string, P]> = [
  ['acl', {
    sections: PROXIES,
    parse(p, ctx) {
      const name = ctx.arg(0, 'ACL name');
      if (!/^[A-Za-z0-9_.:-]+$/.test(name)) ctx.fail(`ACL name '${name}' contains invalid characters (allowed: letters, digits, '-', '_', '.', ':')`);
      withRefs(p, () => {
        const acl = compileAcl(ctx.args.slice(1), ctx.where, 'acl');
        const list = rules(p).acls.get(name) ?? [];
        list.push(acl);
        rules(p).acls.set(name, list);
      });
    },
  }],
  ['use_backend', {
    sections: FE_ONLY,
    parse(p, ctx) {
      const { body, cond } = splitCondition(ctx.args);
      if (body.length === 0) ctx.fail('missing backend name', ConfigErrorCode.MISSING_ARGUMENT);
      if (body.length > 1) ctx.fail(`unexpected '${body[1]}' (expected 'if' or 'unless')`, ConfigErrorCode.SYNTAX);
      withRefs(p, () => {
        rules(p).useBackends.push({
          name: compileLogFormat(body[0]!, ctx.where, 'use_backend'),
          where: ctx.where,
          ...(cond ? { cond: compileCondition(cond.unless, cond.words, rules(p).acls, 'request', ctx.where, 'use_backend') } : {}),
        });
      });
    },
  }],
  ['use-server', {
    sections: BE_ONLY,
    parse(p, ctx) {
      const { body, cond } = splitCondition(ctx.args);
      if (body.length !== 1) ctx.fail(body.length === 0 ? 'missing server name' : `unexpected '${body[1]}'`, ConfigErrorCode.MISSING_ARGUMENT);
      if (!cond) ctx.fail("requires a condition ('if' or 'unless')", ConfigErrorCode.MISSING_ARGUMENT);
      withRefs(p, () => {
        rules(p).useServers.push({ server: body[0]!, where: ctx.where, cond: compileCondition(cond!.unless, cond!.words, rules(p).acls, 'request', ctx.where, 'use-server') });
      });
    },
  }],
  ['http-request', {
    sections: PROXIES,
    parse: (p, ctx) => withRefs(p, () => void rules(p).httpRequest.push(parseHttpRule('request', ctx.args, rules(p).acls, ctx.where, 'http-request'))),
  }],
  ['http-response', {
    sections: PROXIES,
    parse: (p, ctx) => withRefs(p, () => void rules(p).httpResponse.push(parseHttpRule('response', ctx.args, rules(p).acls, ctx.where, 'http-response'))),
  }],
  ['monitor-uri', {
    sections: FE,
    parse(p, ctx) {
      const uri = ctx.arg(0, 'URI');
      if (!uri.startsWith('/')) ctx.fail(`URI '${uri}' must start with '/'`);
      ctx.noArgsFrom(1);
      rules(p).monitorUri = uri;
    },
  }],
  ['errorfile', {
    sections: ALL,
    parse(p, ctx) {
      const code = ctx.int(ctx.arg(0, 'status code'), 'status code');
      if (!ERROR_CODES.includes(code)) ctx.fail(`status code ${code} not handled (expected one of ${ERROR_CODES.join(', ')})`);
      const file = ctx.arg(1, 'file name');
      ctx.noArgsFrom(2);
      let content: Buffer;
      try {
        content = readFileSync(file);
      } catch (err) {
        return ctx.fail(`cannot read error file '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ConfigErrorCode.UNREADABLE_FILE);
      }
      // The file is a whole HTTP response, sent as is.
      if (!/^HTTP\/1\.[01] \d{3}/.test(content.toString('latin1', 0, 12))) ctx.fail(`error file '${file}' does not start with an HTTP status line`);
      rules(p).errorfiles.set(code, content);
    },
  }],
  ['option forwardfor', {
    sections: ALL,
    negatable: true,
    parse(p, ctx) {
      if (ctx.negated) {
        ctx.noArgsFrom(0);
        p.options.forwardfor = false;
        delete rules(p).forwardfor;
        return;
      }
      rules(p).forwardfor = forwardedHeader(ctx, 'X-Forwarded-For', true);
      p.options.forwardfor = true;
    },
  }],
  ['option originalto', {
    sections: ALL,
    negatable: true,
    parse(p, ctx) {
      if (ctx.negated) {
        ctx.noArgsFrom(0);
        delete rules(p).originalto;
        return;
      }
      rules(p).originalto = forwardedHeader(ctx, 'X-Original-To', false);
    },
  }],
  ['unique-id-format', {
    sections: FE,
    parse(p, ctx) {
      const text = ctx.arg(0, 'log-format string');
      ctx.noArgsFrom(1);
      rules(p).uniqueIdFormat = compileLogFormat(text, ctx.where, 'unique-id-format');
    },
  }],
  ['unique-id-header', {
    sections: FE,
    parse(p, ctx) {
      rules(p).uniqueIdHeader = ctx.arg(0, 'header name');
      ctx.noArgsFrom(1);
    },
  }],
];
