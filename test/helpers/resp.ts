import { connect } from 'node:net';

export type RespValue = string | number | null | RespError | RespValue[];

export class RespError extends Error {
  override name = 'RespError';
}

export const encodeCommand = (args: Array<string | Buffer>): Buffer => {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
};

/** Parses one RESP2 value at `offset`; undefined when more bytes are needed. */
export const parseResp = (buf: Buffer, offset = 0): { value: RespValue; end: number } | undefined => {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset]!);
  const line = buf.subarray(offset + 1, lineEnd).toString('utf8');
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.subarray(next, next + length).toString('utf8'), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
  }
};

/**
 * Sends one command to a Redis server on a fresh connection and resolves with its reply
 * (an error reply resolves as a RespError value). Rejects on connection error or timeout.
 */
export const redisCommand = (
  port: number,
  args: Array<string | Buffer>,
  opts: { host?: string; timeout?: number } = {},
): Promise<RespValue> =>
  new Promise((resolve, reject) => {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${String(args[0])} on port ${port}: timed out`));
    }, opts.timeout ?? 2000);
    socket.on('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const parsed = parseResp(buf);
        if (!parsed) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(parsed.value);
      } catch (err) {
        clearTimeout(timer);
        socket.destroy();
        reject(err as Error);
      }
    });
    socket.on('error', err => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`redis ${String(args[0])} on port ${port}: connection closed without a reply`));
    });
  });
