// `bind ADDR[,ADDR...] [accept-proxy]`. Any other option is an error rather than a setting
// silently dropped.
import { parseBindAddresses } from './address.js';
import { ConfigErrorCode } from './config-error.js';
import type { KeywordContext } from './keyword-context.js';
import { ValueError } from './units.js';
import type { BindConfig } from './types.js';

export function parseBind(lineCtx: KeywordContext): BindConfig[] {
  const text = lineCtx.arg(0, 'address');
  const ctx = lineCtx.withLabel(`bind ${text}`);
  let addresses;
  try {
    addresses = parseBindAddresses(text);
  } catch (err) {
    /* c8 ignore next */
    if (!(err instanceof ValueError)) throw err;
    return ctx.fail(`invalid address: ${err.message}`, ConfigErrorCode.BAD_ADDRESS);
  }
  let acceptProxy = false;
  for (const option of ctx.args.slice(1)) {
    if (option === 'accept-proxy') acceptProxy = true;
    else ctx.fail(`unknown keyword '${option}' (limpet supports only 'accept-proxy' here)`, ConfigErrorCode.UNKNOWN_OPTION);
  }
  return addresses.map((address) => (acceptProxy ? { address, acceptProxy, where: ctx.where } : { address, where: ctx.where }));
}
