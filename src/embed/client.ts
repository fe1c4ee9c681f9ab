// node.call(...): an in-process client connection to a node (the same path a TCP client takes,
// without a socket), with a small RESP2/RESP3 reply decoder. For programs and tests, not the hot path.
import { encodeMultibulk } from '../protocol/args.js';
import { memoryLinkPair, type MemoryLink } from './in-process.js';
import type { LinkSocket } from '../net/transport.js';

/** A decoded reply: bulk strings as strings (utf8), integers as numbers, nil as null, errors as ReplyError. */
export type Reply = string | number | null | ReplyError | Reply[];

export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}

export class InProcessClient {
  private readonly link: MemoryLink;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve(r: Reply): void; reject(e: Error): void }> = [];

  constructor(attach: (server: LinkSocket) => void) {
    const { a, b } = memoryLinkPair({ host: 'in-process', port: 0 }, { host: 'node', port: 0 });
    this.link = a;
    attach(b);
    a.on('data', (chunk: Buffer) => this.onData(chunk));
    a.on('close', () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error('connection closed'));
    });
    a.on('error', () => undefined);
  }

  /** Sends one command; resolves with its reply (an error reply resolves as a ReplyError). */
  call(...args: Array<string | Buffer | number>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.link.write(encodeMultibulk(args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))))));
    });
  }

  close(): void {
    this.link.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const r = parse(this.buf, 0);
      if (r === undefined) return;
      this.buf = this.buf.subarray(r.end);
      this.waiting.shift()?.resolve(r.value);
    }
  }
}

/** One reply from b at off, or undefined when incomplete. */
function parse(b: Buffer, off: number): { value: Reply; end: number } | undefined {
  const eol = b.indexOf('\r\n', off);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(b[off]!);
  const line = b.toString('utf8', off + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return { value: line, end: next };
    case '-': return { value: new ReplyError(line), end: next };
    case ':': return { value: Number(line), end: next };
    case '_': return { value: null, end: next };
    case '#': return { value: line === 't' ? 1 : 0, end: next };
    case ',': return { value: Number(line), end: next };
    case '$': case '=': case '!': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (b.length < next + n + 2) return undefined;
      return { value: b.toString('utf8', next, next + n), end: next + n + 2 };
    }
    case '*': case '~': case '>': case '%': {
      let n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (type === '%') n *= 2;
      const out: Reply[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const e = parse(b, at);
        if (e === undefined) return undefined;
        out.push(e.value);
        at = e.end;
      }
      return { value: out, end: at };
    }
    default: return { value: new ReplyError(`unexpected reply type ${JSON.stringify(type)}`), end: next };
  }
}
