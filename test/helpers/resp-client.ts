// A raw RESP client for tests: writes exact bytes, reads exact reply bytes (framed by the oracle-free
// minimal reader below), so tests see what a client sees, byte for byte.
import { RawSocket } from './raw-socket.js';

/** Length of the first complete RESP reply in b from off, or -1 when incomplete. */
export function replyLength(b: Buffer, off = 0): number {
  if (off >= b.length) return -1;
  const eol = b.indexOf('\r\n', off);
  if (eol < 0) return -1;
  const t = b[off];
  const head = eol + 2 - off;
  if (t === 43 || t === 45 || t === 58 || t === 95 || t === 44 || t === 35 || t === 40) return head;
  const n = Number(b.toString('latin1', off + 1, eol));
  if (t === 36 || t === 33 || t === 61) return n < 0 ? head : eol + 2 + n + 2 <= b.length ? head + n + 2 : -1;
  if (t === 42 || t === 37 || t === 126 || t === 62) {
    const items = t === 37 ? n * 2 : n;
    let p = eol + 2;
    for (let i = 0; i < items; i++) {
      const l = replyLength(b, p);
      if (l < 0) return -1;
      p += l;
    }
    return n < 0 ? head : p - off;
  }
  throw new Error(`bad reply type byte ${t} at ${off}: ${JSON.stringify(b.toString('latin1', off, off + 40))}`);
}

export class RawClient extends RawSocket {
  static connect(port: number): Promise<RawClient> {
    return RawSocket.open(port, (s) => new RawClient(s));
  }

  write(b: Buffer | string): void {
    this.socket.write(b);
  }

  /** Reads n complete RESP replies (raw bytes each). */
  async replies(n: number, timeoutMs = 10000): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      const l = replyLength(this.buf);
      if (l >= 0) {
        out.push(this.buf.subarray(0, l));
        this.buf = this.buf.subarray(l);
        continue;
      }
      if (this.closed) throw new Error(`connection closed after ${out.length}/${n} replies`);
      if (Date.now() > deadline) throw new Error(`timed out after ${out.length}/${n} replies`);
      await this.nextEvent(deadline);
    }
    return out;
  }

  /** Reads raw bytes until the predicate holds on the buffer (memcached tests). */
  async readUntil(pred: (b: Buffer) => boolean, timeoutMs = 10000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.buf)) {
      if (this.closed) throw new Error(`connection closed; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      if (Date.now() > deadline) throw new Error(`timed out; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      await this.nextEvent(deadline);
    }
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }

  /** Resolves when the server closes the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export function cmd(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
