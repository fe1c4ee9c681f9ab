// Replies of the search commands as values, encoded to RESP2 once at the end. Strings and Buffers
// are bulk strings, numbers integers, Double a bulk string in Redis's %.17g form (as
// RedisModule_ReplyWithDouble writes it in RESP2), Status a simple string, ReplyErr an error.
import { fmtG } from './expr.js';

export class Status {
  constructor(readonly text: string) {}
}

export class ReplyErr {
  constructor(readonly text: string) {}
}

export class Double {
  constructor(readonly value: number) {}
}

export type Reply = Buffer | string | number | null | Status | ReplyErr | Double | Reply[];

export const OK = new Status('OK');

/** Redis's %.17g rendering of a double reply (inf / -inf / nan as Redis writes them). */
export function double17(n: number): string {
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (Number.isNaN(n)) return 'nan';
  return fmtG(n, 17);
}

function size(r: Reply): number {
  if (r === null) return 5;
  if (typeof r === 'number') return 24;
  if (typeof r === 'string') return r.length * 3 + 16;
  if (Buffer.isBuffer(r)) return r.length + 16;
  if (r instanceof Status || r instanceof ReplyErr) return r.text.length * 3 + 3;
  if (r instanceof Double) return 40;
  let n = 16;
  for (const x of r) n += size(x);
  return n;
}

export function encode(r: Reply): Buffer {
  const buf = Buffer.allocUnsafe(size(r));
  const end = write(buf, 0, r);
  return buf.subarray(0, end);
}

function write(b: Buffer, p: number, r: Reply): number {
  if (r === null) return p + b.write('$-1\r\n', p, 'latin1');
  if (typeof r === 'number') return p + b.write(`:${Math.trunc(r)}\r\n`, p, 'latin1');
  if (typeof r === 'string') {
    const len = Buffer.byteLength(r, 'latin1');
    p += b.write(`$${len}\r\n`, p, 'latin1');
    p += b.write(r, p, 'latin1');
    return p + b.write('\r\n', p, 'latin1');
  }
  if (Buffer.isBuffer(r)) {
    p += b.write(`$${r.length}\r\n`, p, 'latin1');
    p += r.copy(b, p);
    return p + b.write('\r\n', p, 'latin1');
  }
  if (r instanceof Status) return p + b.write(`+${r.text.replace(/[\r\n]+/g, ' ')}\r\n`, p, 'latin1');
  if (r instanceof ReplyErr) return p + b.write(`-${r.text.replace(/[\r\n]+/g, ' ')}\r\n`, p, 'latin1');
  if (r instanceof Double) return write(b, p, double17(r.value));
  p += b.write(`*${r.length}\r\n`, p, 'latin1');
  for (const x of r) p = write(b, p, x);
  return p;
}
