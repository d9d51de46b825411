// The sample expression of a stick rule (`src`, `req.hdr(x-user),lower`, `res.cook(SID)`...),
// compiled by the ACL engine (lib/acl) so stick rules, ACLs and log-format share one set of
// fetches and converters. What this module adds: which part of a session the expression
// reads (the connection, the request or the response), and a context for sessions where the
// rules engine does not run.
import { compileSampleExpr, type SampleExpr } from '../acl/sample-expr.js';
import { sampleToString, type Sample, type SampleContext } from '../acl/sample.js';
import type { SourceLocation } from '../config/types.js';
import { MessageHead } from '../http/message-head.js';
import { HttpMessage } from '../rules/http-message.js';

/** A compiled stick expression, plain enough to live in the configuration model. */
export interface StickExpr {
  /** as written in the configuration, for messages; equal texts read the same key */
  text: string;
  expr: SampleExpr;
  /** 'connection': readable in `mode tcp` too; 'response': only in `stick store-response` */
  phase: 'connection' | 'request' | 'response';
  /** it reads what only the rules engine's context knows (ports and local address in HTTP, frontend, backend states, userlists, variables) */
  needsRules: boolean;
}

/** Fetches that read the connection only. */
const CONNECTION_FETCHES: ReadonlySet<string> = new Set(['src', 'src_port', 'dst', 'dst_port', 'always_true', 'always_false', 'ssl_fc']);

/** Fetches the stick-only context answers exactly: the client address, the message heads, constants, the backend's name. */
const HEAD_FETCHES: ReadonlySet<string> = new Set([
  'src', 'always_true', 'always_false', 'ssl_fc', 'method', 'req.ver', 'req_ver', 'res.ver', 'path', 'url', 'query', 'base',
  'url_param', 'urlp', 'hdr', 'req.hdr', 'req.fhdr', 'hdr_cnt', 'req.hdr_cnt', 'res.hdr', 'shdr', 'res.fhdr', 'res.hdr_cnt',
  'shdr_cnt', 'req.cook', 'cook', 'cookie', 'req.cook_cnt', 'res.cook', 'scook', 'set-cookie', 'status', 'http_auth_user',
  'be_name', 'req.rdp_cookie_cnt',
]);

/** Compiles `text`; throws a ConfigError naming `where` and `keyword` when the expression is wrong. */
export function compileStickExpr(text: string, where: SourceLocation, keyword: string): StickExpr {
  const expr = compileSampleExpr(text, where, keyword);
  const phase = CONNECTION_FETCHES.has(expr.fetchName) ? 'connection' : expr.phase === 'response' ? 'response' : 'request';
  return { text, expr, phase, needsRules: !HEAD_FETCHES.has(expr.fetchName) };
}

/** What a session tells the stick rules when the rules engine has no context for them. */
export interface StickSource {
  src: string;
  srcPort?: number;
  dst?: string;
  dstPort?: number;
  request?: MessageHead;
}

// Without the rules engine nothing sets variables or captures: one empty instance of each
// serves every context (no fetch writes them). `mode tcp` has no request; connection fetches
// never read it (validateStick refuses the others there), nor do they with `connectionOnly`.
const NO_VARS: Map<string, Sample> = new Map();
const NO_CAPTURES: string[] = [];
let noRequest: HttpMessage | undefined;
const noUserlists = (): undefined => undefined;
const noServers = (): undefined => undefined;

/**
 * A SampleContext built from what the session passed: the client's ends and the request head.
 * `connectionOnly`: the expressions read only the connection, so the request is not wrapped.
 */
export function stickSampleContext(source: StickSource, backend: string, response?: MessageHead, connectionOnly = false): SampleContext {
  // Same field order as the rules engine's context: one object shape for the fetches.
  return {
    src: source.src,
    srcPort: source.srcPort ?? 0,
    dst: source.dst ?? '',
    dstPort: source.dstPort ?? 0,
    req: source.request && !connectionOnly ? new HttpMessage(source.request) : (noRequest ??= emptyRequest()),
    res: response && !connectionOnly ? new HttpMessage(response) : undefined,
    vars: NO_VARS,
    captures: NO_CAPTURES,
    uniqueId: undefined,
    frontend: '',
    backend,
    usableServers: noServers,
    userlist: noUserlists,
  };
}

function emptyRequest(): HttpMessage {
  return new HttpMessage(new MessageHead(Buffer.from('GET / HTTP/1.1\r\n\r\n', 'latin1')));
}

/** The expression's value as the table's key text, or undefined when it has none. */
export function stickSample(expr: StickExpr, ctx: SampleContext): string | undefined {
  const s = expr.expr.one(ctx);
  return s === undefined ? undefined : sampleToString(s);
}
