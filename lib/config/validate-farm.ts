// Resolving-pass checks of a backend's balancing and persistence settings: what limpet cannot
// run is refused here with the line to change, never silently replaced by something else.
import { unsupportedBalance } from '../balance/create-balancer.js';
import { ConfigError, ConfigErrorCode } from './config-error.js';
import type { ProxyConfig } from './types.js';

export function checkFarm(proxy: ProxyConfig, errors: ConfigError[]): void {
  const why = unsupportedBalance(proxy.balance);
  if (why) errors.push(new ConfigError(ConfigErrorCode.UNSUPPORTED, proxy.balance.where, 'balance', `'balance' : ${why}`));
  if (proxy.balance.algorithm === 'rdp-cookie' && proxy.mode !== 'tcp') {
    errors.push(new ConfigError(ConfigErrorCode.BAD_VALUE, proxy.balance.where, 'balance',
      `'balance rdp-cookie' : requires 'mode tcp' but ${proxy.kind} '${proxy.name}' is in http mode`));
  }
  const cookie = proxy.cookie;
  if (cookie?.dynamic && proxy.dynamicCookieKey === undefined) {
    errors.push(new ConfigError(ConfigErrorCode.MISSING_ARGUMENT, cookie.where, 'cookie',
      `'cookie' : 'dynamic' needs a 'dynamic-cookie-key' in ${proxy.kind} '${proxy.name}'`));
  }
  if (cookie?.dynamic && cookie.mode !== 'insert') {
    errors.push(new ConfigError(ConfigErrorCode.BAD_VALUE, cookie.where, 'cookie', `'cookie' : 'dynamic' requires 'insert' mode`));
  }
  if ((cookie?.maxidle !== undefined || cookie?.maxlife !== undefined) && cookie.mode !== 'insert') {
    errors.push(new ConfigError(ConfigErrorCode.BAD_VALUE, cookie.where, 'cookie', `'cookie' : 'maxidle' and 'maxlife' require 'insert' mode`));
  }
}
