// The resolving pass (HAProxy's check_config_validity): names are looked up and cross-section
// rules checked once every file has been read. Every error points at the line to change.
import { ConfigError, ConfigErrorCode } from './config-error.js';
import { isBackend, isFrontend, type Config, type ProxyConfig } from './types.js';
import { validateStick } from './validate-stick.js';
import { checkFarm } from './validate-farm.js';
import { checkRules } from '../rules/check-rules.js';

const where = (p: { where: { file: string; line: number } }) => `${p.where.file}:${p.where.line}`;

export interface ValidateHints {
  /** Proxies with a bind line already reported as an error: do not also report "no bind". */
  failedBind?: ReadonlySet<ProxyConfig>;
}

export function validateConfig(config: Config, hints: ValidateHints = {}): ConfigError[] {
  const errors: ConfigError[] = [];
  checkDuplicateProxies(config.proxies, errors);
  for (const proxy of config.proxies) {
    if (isFrontend(proxy)) checkFrontend(proxy, config.proxies, errors, hints.failedBind?.has(proxy) ?? false);
    if (isBackend(proxy)) checkBackend(proxy, errors);
  }
  errors.push(...validateStick(config));
  errors.push(...checkRules(config));
  return errors;
}

// A frontend and a backend may share a name; a listen is both, so it clashes with either.
function checkDuplicateProxies(proxies: ProxyConfig[], errors: ConfigError[]): void {
  const frontends = new Map<string, ProxyConfig>();
  const backends = new Map<string, ProxyConfig>();
  for (const proxy of proxies) {
    const clash = (isFrontend(proxy) && frontends.get(proxy.name)) || (isBackend(proxy) && backends.get(proxy.name));
    if (clash) {
      errors.push(new ConfigError(ConfigErrorCode.DUPLICATE_PROXY, proxy.where, proxy.kind,
        `${proxy.kind} '${proxy.name}' has the same name as ${clash.kind} '${clash.name}' declared at ${where(clash)}`));
      continue;
    }
    if (isFrontend(proxy)) frontends.set(proxy.name, proxy);
    if (isBackend(proxy)) backends.set(proxy.name, proxy);
  }
}

function checkFrontend(proxy: ProxyConfig, proxies: ProxyConfig[], errors: ConfigError[], bindFailed: boolean): void {
  if (proxy.binds.length === 0 && !bindFailed) {
    errors.push(new ConfigError(ConfigErrorCode.NO_BIND, proxy.where, 'bind',
      `${proxy.kind} '${proxy.name}' has no 'bind' directive (declare it as a backend if this was intended)`));
  }
  const ref = proxy.defaultBackend;
  if (!ref) return;
  const target = proxies.find((p) => isBackend(p) && p.name === ref.name);
  if (!target) {
    const isFrontendName = proxies.some((p) => p.name === ref.name);
    errors.push(new ConfigError(ConfigErrorCode.UNKNOWN_BACKEND, ref.where, 'default_backend',
      isFrontendName
        ? `'default_backend' : '${ref.name}' is a frontend, not a backend (in ${proxy.kind} '${proxy.name}')`
        : `'default_backend' : unable to find backend '${ref.name}' (in ${proxy.kind} '${proxy.name}')`));
    return;
  }
  // An HTTP frontend cannot hand parsed requests to a TCP backend; the reverse is a TCP-to-HTTP
  // upgrade, which HAProxy allows.
  if (proxy.mode === 'http' && target.mode === 'tcp') {
    errors.push(new ConfigError(ConfigErrorCode.MODE_MISMATCH, ref.where, 'default_backend',
      `'default_backend' : ${proxy.kind} '${proxy.name}' is in http mode but backend '${target.name}' (${where(target)}) is in tcp mode`));
  }
}

function checkBackend(proxy: ProxyConfig, errors: ConfigError[]): void {
  checkFarm(proxy, errors);
  if (proxy.cookie && proxy.mode !== 'http') {
    errors.push(new ConfigError(ConfigErrorCode.COOKIE_NEEDS_HTTP, proxy.cookie.where, 'cookie',
      `'cookie' : requires 'mode http' but ${proxy.kind} '${proxy.name}' is in tcp mode`));
  }
  const names = new Map<string, { where: { file: string; line: number } }>();
  const ids = new Map<number, { name: string; where: { file: string; line: number } }>();
  for (const server of proxy.servers) {
    const sameName = names.get(server.name);
    if (sameName) {
      errors.push(new ConfigError(ConfigErrorCode.DUPLICATE_SERVER, server.where, 'server',
        `'server ${server.name}' : ${proxy.kind} '${proxy.name}' already has a server named '${server.name}' declared at ${where(sameName)}`));
    } else names.set(server.name, server);
    if (server.id === undefined) continue;
    const sameId = ids.get(server.id);
    if (sameId) {
      errors.push(new ConfigError(ConfigErrorCode.DUPLICATE_SERVER_ID, server.where, 'server',
        `'server ${server.name}' : id ${server.id} is already used by server '${sameId.name}' declared at ${where(sameId)}`));
    } else ids.set(server.id, server);
  }
}
