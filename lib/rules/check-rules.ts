// The resolving pass for L7 rules: backends named by use_backend and nbsrv(), servers named by
// use-server and userlists named by http_auth() must exist once every section is read.
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import { isBackend, type Config } from '../config/types.js';
import { checkUserlist } from './userlist-section.js';

export function checkRules(config: Config): ConfigError[] {
  const errors: ConfigError[] = [];
  const backends = new Map(config.proxies.filter(isBackend).map((p) => [p.name, p]));
  for (const ul of config.userlists?.values() ?? []) errors.push(...checkUserlist(ul));
  for (const proxy of config.proxies) {
    const r = proxy.rules;
    if (!r) continue;
    for (const rule of r.useBackends) {
      if (!rule.name.constant) continue;
      const name = rule.name.text;
      const target = backends.get(name);
      if (!target) {
        errors.push(new ConfigError(ConfigErrorCode.UNKNOWN_BACKEND, rule.where, 'use_backend', `'use_backend' : unable to find backend '${name}' (in ${proxy.kind} '${proxy.name}')`));
      } else if (proxy.mode === 'http' && target.mode === 'tcp') {
        errors.push(new ConfigError(ConfigErrorCode.MODE_MISMATCH, rule.where, 'use_backend', `'use_backend' : ${proxy.kind} '${proxy.name}' is in http mode but backend '${name}' is in tcp mode`));
      }
    }
    for (const rule of r.useServers) {
      if (!proxy.servers.some((s) => s.name === rule.server)) {
        errors.push(new ConfigError(ConfigErrorCode.BAD_VALUE, rule.where, 'use-server', `'use-server' : no server named '${rule.server}' in ${proxy.kind} '${proxy.name}'`));
      }
    }
    for (const ref of r.references) {
      const known = ref.kind === 'userlist' ? config.userlists?.has(ref.name) : backends.has(ref.name);
      if (!known) {
        errors.push(new ConfigError(ref.kind === 'backend' ? ConfigErrorCode.UNKNOWN_BACKEND : ConfigErrorCode.BAD_VALUE, ref.where, ref.kind, `unable to find ${ref.kind} '${ref.name}' (in ${proxy.kind} '${proxy.name}')`));
      }
    }
    if (r.useBackends.length > 0 && proxy.mode !== 'http' && proxy.kind !== 'backend') {
      // TCP sessions have no switching seam yet: refuse rather than silently use default_backend.
      errors.push(new ConfigError(ConfigErrorCode.UNSUPPORTED, r.useBackends[0]!.where, 'use_backend',
        `'use_backend' : limpet switches backends only in mode http (${proxy.kind} '${proxy.name}' is in tcp mode)`));
    }
    const l7 = r.httpRequest.length + r.httpResponse.length + r.useServers.length > 0 || r.monitorUri !== undefined || r.uniqueIdFormat !== undefined;
    if (l7 && proxy.mode !== 'http' && proxy.kind !== 'backend') {
      const first = r.httpRequest[0]?.where ?? r.httpResponse[0]?.where ?? proxy.where;
      errors.push(new ConfigError(ConfigErrorCode.BAD_VALUE, first, 'mode', `${proxy.kind} '${proxy.name}' has HTTP rules but is in tcp mode (add 'mode http')`));
    }
  }
  return errors;
}
