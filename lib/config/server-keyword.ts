// `server NAME ADDR:PORT [options]`
import { parseServerAddress } from './address.js';
import { ConfigErrorCode } from './config-error.js';
import type { KeywordContext } from './keyword-context.js';
import { ValueError } from './units.js';
import type { ServerConfig } from './types.js';

const VALID_NAME = /^[A-Za-z0-9_.:-]+$/;

export function parseServer(lineCtx: KeywordContext): ServerConfig {
  const name = lineCtx.arg(0, 'server name');
  // Messages name the server, as HAProxy's do: `'server web1' : ...`
  const ctx = lineCtx.withLabel(`server ${name}`);
  if (!VALID_NAME.test(name)) ctx.fail(`invalid server name '${name}' (allowed: letters, digits, '-', '_', '.', ':')`);
  const addr = ctx.arg(1, 'address');
  let hostPort: { host: string; port: number };
  try {
    hostPort = parseServerAddress(addr);
  } catch (err) {
    /* c8 ignore next */
    if (!(err instanceof ValueError)) throw err;
    return ctx.fail(`invalid address '${addr}': ${err.message}`, ConfigErrorCode.BAD_ADDRESS);
  }
  const server: ServerConfig = {
    name,
    host: hostPort.host,
    port: hostPort.port,
    weight: 1,
    maxconn: 0,
    check: false,
    inter: 2000,
    rise: 2,
    fall: 3,
    backup: false,
    disabled: false,
    where: ctx.where,
  };
  const args = ctx.args;
  const value = (i: number, option: string): string => ctx.arg(i, `value for '${option}'`);
  for (let i = 2; i < args.length; i++) {
    const word = args[i]!;
    switch (word) {
      case 'weight':
        server.weight = ctx.int(value(++i, word), `'${word}'`, 0, 256);
        break;
      case 'maxconn':
        server.maxconn = ctx.int(value(++i, word), `'${word}'`);
        break;
      case 'cookie':
        server.cookie = value(++i, word);
        break;
      case 'check':
        server.check = true;
        break;
      case 'inter':
        server.inter = ctx.time(value(++i, word), `'${word}'`);
        if (server.inter === 0) ctx.fail("'inter' must be greater than zero");
        break;
      case 'rise':
      case 'fall':
        server[word] = ctx.int(value(++i, word), `'${word}'`, 1);
        break;
      case 'backup':
      case 'disabled':
        server[word] = true;
        break;
      case 'id':
        server.id = ctx.int(value(++i, word), `'${word}'`, 1);
        break;
      case 'pool-max-conn': {
        // -1 (HAProxy's default) means no limit.
        const v = value(++i, word);
        server.poolMaxConn = v === '-1' ? -1 : ctx.int(v, `'${word}'`, 0);
        break;
      }
      case 'send-proxy':
        server.sendProxy = 1;
        break;
      case 'send-proxy-v2':
        server.sendProxy = 2;
        break;
      case 'check-send-proxy':
        server.checkSendProxy = true;
        break;
      case 'hash-key': {
        const k = value(++i, word);
        if (k !== 'id' && k !== 'addr' && k !== 'addr-port') ctx.fail(`'hash-key' must be 'id', 'addr' or 'addr-port' (got '${k}')`);
        server.hashKey = k as 'id' | 'addr' | 'addr-port';
        break;
      }
      case 'slowstart':
        server.slowstart = ctx.time(value(++i, word), `'${word}'`);
        break;
      case 'maxqueue':
        server.maxqueue = ctx.int(value(++i, word), `'${word}'`);
        break;
      case 'fastinter':
      case 'downinter': {
        const t = ctx.time(value(++i, word), `'${word}'`);
        if (t === 0) ctx.fail(`'${word}' must be greater than zero`);
        server[word] = t;
        break;
      }
      case 'port':
        server.checkPort = ctx.int(value(++i, word), `'${word}'`, 1, 65535);
        break;
      case 'addr':
        server.checkAddr = value(++i, word);
        break;
      default:
        ctx.fail(`unknown keyword '${word}'`, ConfigErrorCode.UNKNOWN_OPTION);
    }
  }
  return server;
}
