// Resolving pass for stick tables and redis sections: table and section names exist, every
// rule has a table, HTTP fetches only in HTTP backends, each redis section names a deployment.
import { ConfigError, ConfigErrorCode } from './config-error.js';
import { isBackend, type Config } from './types.js';

export function validateStick(config: Config): ConfigError[] {
  const errors: ConfigError[] = [];
  const redis = new Map<string, { where: { file: string; line: number } }>();
  for (const r of config.redis ?? []) {
    const same = redis.get(r.name);
    if (same) {
      errors.push(new ConfigError(ConfigErrorCode.DUPLICATE_REDIS, r.where, 'redis',
        `redis section '${r.name}' is already declared at ${same.where.file}:${same.where.line}`));
      continue;
    }
    redis.set(r.name, r);
    if (!r.deployment) {
      errors.push(new ConfigError(ConfigErrorCode.MISSING_ARGUMENT, r.where, 'redis',
        `redis section '${r.name}' names no deployment: add 'server HOST:PORT', 'sentinel ADDR... master NAME' or 'cluster ADDR...'`));
    } else if (r.deployment.kind === 'cluster' && r.database !== undefined && r.database !== 0) {
      errors.push(new ConfigError(ConfigErrorCode.BAD_VALUE, r.where, 'database',
        `redis section '${r.name}' : Redis Cluster has only database 0 ('database ${r.database}')`));
    }
  }
  const tables = new Map(config.proxies.filter((p) => isBackend(p) && p.stickTable).map((p) => [p.name, p]));
  for (const proxy of config.proxies) {
    const table = proxy.stickTable;
    if (table?.redis && !redis.has(table.redis.name)) {
      errors.push(new ConfigError(ConfigErrorCode.UNKNOWN_REDIS, table.redis.where, 'stick-table',
        `'stick-table' : unable to find redis section '${table.redis.name}' (in ${proxy.kind} '${proxy.name}')`));
    }
    for (const rule of proxy.stickRules ?? []) {
      const keyword = `stick ${rule.kind}`;
      const name = rule.table?.name ?? proxy.name;
      if (!tables.has(name)) {
        errors.push(new ConfigError(ConfigErrorCode.UNKNOWN_TABLE, rule.where, keyword, rule.table
          ? `'${keyword}' : unable to find a stick-table in backend '${name}'`
          : `'${keyword}' : ${proxy.kind} '${proxy.name}' has no stick-table (add 'stick-table ...' or 'table NAME')`));
      }
      if (proxy.mode !== 'http' && rule.fetch.phase !== 'connection') {
        errors.push(new ConfigError(ConfigErrorCode.FETCH_NEEDS_HTTP, rule.where, keyword,
          `'${keyword}' : fetch method '${rule.fetch.text}' needs 'mode http' but ${proxy.kind} '${proxy.name}' is in tcp mode`));
      }
      if (proxy.mode !== 'http' && rule.cond) {
        errors.push(new ConfigError(ConfigErrorCode.UNSUPPORTED, rule.where, keyword,
          `'${keyword}' : 'if'/'unless' conditions on stick rules need 'mode http' (${proxy.kind} '${proxy.name}' is in tcp mode; limpet has no tcp-request content ACLs)`));
      }
    }
  }
  return errors;
}
