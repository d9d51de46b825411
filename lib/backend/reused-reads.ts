// Server connections that read into reused buffers (net.Socket `onread`) instead of Node's
// default, a fresh 64 KiB ArrayBuffer per read: on large bodies that allocation was ~18% of
// the proxy's time in GC. Node asks for the next buffer right after each read, so:
// - a connection streaming a response keeps one buffer of its own, read into again and again,
//   unless its owner still holds the last chunk (a client write that did not flush at once);
//   that buffer is then left to the write and a new one taken;
// - new and idle connections (most reads are a whole small response) share one small buffer,
//   copied out of, so an idle pooled connection holds no buffer at all.
import type net from 'node:net';

/** Node's own read size. */
const READ_SIZE = 64 * 1024;
/** Above the read size, so that one read passed on whole does not count as backpressure. */
export const SOCKET_HIGH_WATER_MARK = 2 * READ_SIZE;
const SHARED = Buffer.allocUnsafe(4096);
/** Buffers handed back when a response ended, for the next connection that streams. */
const spares: Buffer[] = [];
const MAX_SPARES = 16;

export interface ReadTarget {
  /** true while a response is expected: the connection deserves a buffer of its own */
  readonly streaming: boolean;
  /** Delivers bytes read; true when nothing of `chunk` is kept after the call. */
  deliverRead(chunk: Buffer): boolean;
}

export class ReusedReads {
  target: ReadTarget | undefined;
  #own: Buffer | undefined;
  readonly onread: net.OnReadOpts = {
    buffer: () => this.#next(),
    // true: go on reading (the owner pauses the socket itself when the client is slow)
    callback: (nread: number, buf: Uint8Array) => {
      this.#read(nread, buf as Buffer);
      return true;
    },
  };

  #read(nread: number, buf: Buffer): void {
    const target = this.target;
    if (buf === SHARED) {
      // Every other connection reads into it next: its bytes are copied out first.
      target?.deliverRead(Buffer.from(buf.subarray(0, nread)));
      return;
    }
    const free = target ? target.deliverRead(buf.subarray(0, nread)) : true;
    if (!free && buf === this.#own) this.#own = undefined; // left to the pending write
  }

  #next(): Buffer {
    if (!this.target?.streaming) {
      if (this.#own) {
        if (spares.length < MAX_SPARES) spares.push(this.#own);
        this.#own = undefined;
      }
      return SHARED;
    }
    return (this.#own ??= spares.pop() ?? Buffer.allocUnsafe(READ_SIZE));
  }
}
