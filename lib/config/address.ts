// Bind and server addresses as HAProxy writes them: `host:port`, `[v6]:port`, `:port`,
// `*:port`, `ipv4@`/`ipv6@` prefixes, `unix@/path`, `fd@N`.
import { isIP } from 'node:net';
import { ValueError } from './units.js';
import type { BindAddress } from './types.js';

type Family = 4 | 6 | undefined;

const FAMILY_PREFIXES: Record<string, Family> = {
  'ipv4@': 4,
  'ipv6@': 6,
  'tcp@': undefined,
  'tcp4@': 4,
  'tcp6@': 6,
};

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

function stripFamily(text: string): { family: Family; rest: string } {
  for (const [prefix, family] of Object.entries(FAMILY_PREFIXES)) {
    if (text.startsWith(prefix)) return { family, rest: text.slice(prefix.length) };
  }
  const at = text.indexOf('@');
  if (at > 0 && /^[a-z0-9]+$/.test(text.slice(0, at))) throw new ValueError(`unsupported address family '${text.slice(0, at + 1)}' in '${text}'`);
  return { family: undefined, rest: text };
}

/** Split `host:port` at the last colon (so bare IPv6 works), or `[v6]:port`. */
function splitHostPort(text: string, whole: string): { host: string; port: string } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new ValueError(`missing ']' in '${whole}'`);
    if (text[close + 1] !== ':') throw new ValueError(`missing port in '${whole}'`);
    const host = text.slice(1, close);
    if (isIP(host) !== 6) throw new ValueError(`'${host}' is not an IPv6 address in '${whole}'`);
    return { host, port: text.slice(close + 2) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw new ValueError(`missing port in '${whole}'`);
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

function checkHost(host: string, family: Family, whole: string): void {
  const ip = isIP(host);
  // All-numeric names would be resolved as IPv4 by the system; reject malformed ones here.
  if (ip === 0 && (/^[\d.]+$/.test(host) || !HOSTNAME.test(host))) throw new ValueError(`invalid host '${host}' in '${whole}'`);
  if (family !== undefined && ip !== 0 && ip !== family) throw new ValueError(`'${host}' is not an IPv${family} address in '${whole}'`);
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ValueError(`invalid port '${text}' in '${whole}'`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new ValueError(`port ${port} out of range (1..65535) in '${whole}'`);
  return port;
}

// A bind line with a port range opens one listener per port; keep that bounded.
const MAX_RANGE = 1024;

/** Parse a bind address list (`addr[,addr...]`); a port range `a-b` gives one address per port. */
export function parseBindAddresses(text: string): BindAddress[] {
  const out: BindAddress[] = [];
  for (const item of text.split(',')) {
    if (item === '') throw new ValueError(`empty address in '${text}'`);
    if (item.startsWith('unix@') || item.startsWith('/')) {
      const path = item.startsWith('unix@') ? item.slice(5) : item;
      if (path === '') throw new ValueError(`missing socket path in '${item}'`);
      out.push({ kind: 'unix', path });
      continue;
    }
    if (item.startsWith('fd@')) {
      const fd = item.slice(3);
      if (!/^\d+$/.test(fd)) throw new ValueError(`invalid file descriptor in '${item}'`);
      out.push({ kind: 'fd', fd: Number(fd) });
      continue;
    }
    const { family, rest } = stripFamily(item);
    const { host: rawHost, port } = splitHostPort(rest, item);
    let host = rawHost === '*' ? '' : rawHost;
    if (host !== '') checkHost(host, family, item);
    else if (family === 4) host = '0.0.0.0';
    else if (family === 6) host = '::';
    const dash = port.indexOf('-');
    const first = parsePort(dash < 0 ? port : port.slice(0, dash), item);
    const last = dash < 0 ? first : parsePort(port.slice(dash + 1), item);
    if (last < first || last - first >= MAX_RANGE) throw new ValueError(`invalid port range '${port}' in '${item}'`);
    for (let p = first; p <= last; p++) out.push({ kind: 'tcp', host, port: p });
  }
  return out;
}

/** Parse a server address; limpet needs an explicit host and port. */
export function parseServerAddress(text: string): { host: string; port: number } {
  if (text.startsWith('unix@') || text.startsWith('/') || text.startsWith('fd@') || text.startsWith('abns@')) {
    throw new ValueError(`'${text}' : only TCP server addresses are supported for now`);
  }
  const { family, rest } = stripFamily(text);
  const { host, port } = splitHostPort(rest, text);
  if (host === '' || host === '*') throw new ValueError(`missing host in '${text}'`);
  checkHost(host, family, text);
  return { host, port: parsePort(port, text) };
}
