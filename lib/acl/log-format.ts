// Log-format strings as used by set-header, redirect, return and unique-id-format: literal
// text, `%[sample expression]`, and the common `%` variables (%ci, %cp, %fi, %fp, %Ts, %rt,
// %pid, %ID, %H, %f, %b, ...). `%{+X}o` prints the numbers that follow in hexadecimal.
import { hostname } from 'node:os';
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import type { SourceLocation } from '../config/types.js';
import { compileSampleExpr } from './sample-expr.js';
import { sampleToString, type Phase, type SampleContext } from './sample.js';
import { logFormatText } from './sample-text.js';

type Part = (ctx: SampleContext, hex: boolean) => string;

export interface LogFormat {
  readonly text: string;
  readonly phase: Phase | undefined;
  /** true when the string has no variable part */
  readonly constant: boolean;
  render(ctx: SampleContext): string;
}

let requestCounter = 0;
/** HAProxy's %rt: a request counter, shared by every frontend of the process. */
export function nextRequestCounter(): number {
  return requestCounter++;
}

const num = (n: number, hex: boolean) => (hex ? n.toString(16).toUpperCase() : String(n));

/** With %{+X}o an IPv4 address is printed as 8 hex digits, as HAProxy does. */
const ip = (addr: string, hex: boolean) =>
  hex && /^\d+\.\d+\.\d+\.\d+$/.test(addr) ? addr.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).join('') : addr;

const VARIABLES: Record<string, Part> = {
  ci: (ctx, hex) => ip(ctx.src, hex),
  cp: (ctx, hex) => num(ctx.srcPort, hex),
  fi: (ctx, hex) => ip(ctx.dst, hex),
  fp: (ctx, hex) => num(ctx.dstPort, hex),
  Ts: (_ctx, hex) => num(Math.floor(Date.now() / 1000), hex),
  ms: (_ctx, hex) => (hex ? num(Date.now() % 1000, hex) : String(Date.now() % 1000).padStart(3, '0')),
  pid: (_ctx, hex) => num(process.pid, hex),
  ID: (ctx) => ctx.uniqueId ?? '-',
  H: () => hostname(),
  f: (ctx) => ctx.frontend,
  ft: (ctx) => ctx.frontend,
  b: (ctx) => ctx.backend ?? '-',
  HM: (ctx) => ctx.req.method,
  HP: (ctx) => ctx.req.path,
  HQ: (ctx) => (ctx.req.query === undefined ? '' : `?${ctx.req.query}`),
  HU: (ctx) => ctx.req.target,
  HV: (ctx) => ctx.req.requestVersion,
  r: (ctx) => `${ctx.req.method} ${ctx.req.target} ${ctx.req.requestVersion}`,
};
// rt is special: evaluated once per transaction and kept in vars so every use agrees.
const RT_VAR = ' rt';

export function compileLogFormat(text: string, where: SourceLocation, keyword: string): LogFormat {
  const parts: Array<string | Part | { hex: boolean }> = [];
  let phase: Phase | undefined;
  let lit = '';
  let i = 0;
  const fail = (detail: string): never => {
    throw new ConfigError(ConfigErrorCode.BAD_VALUE, where, keyword, `'${keyword}' : ${detail} in log-format string '${text}'`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '%') {
      lit += c;
      i++;
      continue;
    }
    if (text[i + 1] === '%') {
      lit += '%';
      i += 2;
      continue;
    }
    if (lit) parts.push(lit);
    lit = '';
    i++;
    let hexFlag: boolean | undefined;
    if (text[i] === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) fail("missing '}'");
      const flags = text.slice(i + 1, end).split(/(?=[+-])/);
      for (const f of flags) {
        if (f === '+X') hexFlag = true;
        else if (f === '-X') hexFlag = false;
        else if (!['+Q', '-Q', '+E', '-E'].includes(f)) fail(`unsupported flag '${f}'`);
      }
      i = end + 1;
      if (text[i] === 'o') {
        // %{+X}o: options for every variable that follows
        parts.push({ hex: hexFlag ?? false });
        i++;
        continue;
      }
    }
    if (text[i] === '[') {
      const end = findClosingBracket(text, i);
      if (end < 0) fail("missing ']'");
      const expr = compileSampleExpr(text.slice(i + 1, end), where, keyword);
      phase ??= expr.phase;
      parts.push((ctx) => {
        const v = expr.one(ctx);
        return v === undefined ? '' : logFormatText(sampleToString(v));
      });
      i = end + 1;
      continue;
    }
    const m = /^[A-Za-z]+/.exec(text.slice(i));
    if (!m) fail(`'%' not followed by a variable`);
    // longest known name first: %HM before %H
    let name = m![0];
    while (name.length > 0 && VARIABLES[name] === undefined && name !== 'rt') name = name.slice(0, -1);
    if (name === '') fail(`unknown log-format variable '%${m![0]}'`);
    if (name === 'rt') {
      parts.push((ctx, hex) => {
        let v = ctx.vars.get(RT_VAR);
        if (v === undefined) {
          v = nextRequestCounter();
          ctx.vars.set(RT_VAR, v);
        }
        return num(Number(v), hex);
      });
    } else parts.push(VARIABLES[name]!);
    i += name.length;
  }
  if (lit) parts.push(lit);
  const constant = parts.every((p) => typeof p === 'string');
  const constantText = constant ? (parts as string[]).join('') : '';
  return {
    text,
    phase,
    constant,
    render(ctx) {
      if (constant) return constantText;
      let out = '';
      let hex = false;
      for (const p of parts) {
        if (typeof p === 'string') out += p;
        else if (typeof p === 'function') out += p(ctx, hex);
        else hex = p.hex;
      }
      return out;
    },
  };
}

function findClosingBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '[') depth++;
    else if (text[i] === ']' && --depth === 0) return i;
  }
  return -1;
}
