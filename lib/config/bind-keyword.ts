// `bind ADDR[,ADDR...] [options]`. limpet knows no bind options yet, so any is an error
// rather than a setting silently dropped.
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
  const option = ctx.args[1];
  if (option !== undefined) ctx.fail(`unknown keyword '${option}' (limpet supports no bind options yet)`, ConfigErrorCode.UNKNOWN_OPTION);
  return addresses.map((address) => ({ address, where: ctx.where }));
}
