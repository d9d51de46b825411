// Reading the request `Cookie` header and writing `Set-Cookie` values, on latin1 strings so
// every byte survives a round trip.

export interface CookiePair {
  name: string;
  value: string;
  /** offsets of the whole `name=value` pair inside the header value */
  start: number;
  end: number;
}

/** Splits a Cookie header value (`a=1; b=2`) into pairs with their offsets. */
export function parseCookieHeader(value: string): CookiePair[] {
  const out: CookiePair[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === ' ' || value[i] === '\t' || value[i] === ';' || value[i] === ',')) i++;
    if (i >= n) break;
    const start = i;
    let semi = value.indexOf(';', i);
    if (semi === -1) semi = n;
    const pair = value.slice(start, semi);
    const eq = pair.indexOf('=');
    let end = semi;
    while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--;
    if (eq === -1) out.push({ name: pair.trim(), value: '', start, end });
    else out.push({ name: pair.slice(0, eq).trim(), value: value.slice(start + eq + 1, end).trim(), start, end });
    i = semi + 1;
  }
  return out;
}

/** The header value without the pairs named `name`, or undefined when nothing is left. */
export function removeCookie(value: string, name: string): string | undefined {
  const kept = parseCookieHeader(value).filter((p) => p.name !== name);
  if (kept.length === 0) return undefined;
  return kept.map((p) => value.slice(p.start, p.end)).join('; ');
}

/** The name of the cookie a `Set-Cookie` value sets. */
export function setCookieName(value: string): string {
  const eq = value.indexOf('=');
  const semi = value.indexOf(';');
  const end = eq === -1 ? (semi === -1 ? value.length : semi) : semi !== -1 && semi < eq ? semi : eq;
  return value.slice(0, end).trim();
}
