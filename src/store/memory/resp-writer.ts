// RESP2 reply encoding for the embedded datastore.
//
// Every reply is built in one reusable scratch buffer and copied out once, so a reply costs exactly
// one allocation whatever its shape (bulk, nested arrays, ...). Binary data is copied byte for byte,
// never through string concatenation; latin1 strings (our key/field representation, see keyspace.ts)
// are written with `write(latin1)`, which maps each char code 0..255 back to the same byte.
//
//   ┌──────────────── scratch (grows by doubling, never shrinks) ────────────────┐
//   │ *2\r\n $1\r\n0\r\n *3\r\n ...                                 │  free ...  │
//   └────────────────────────────────────────────────────────────────┴────────────┘
//   0                                                               pos

const CRLF = 0x0a0d; // "\r\n" as a little-endian u16

export class RespBuilder {
  private buf: Buffer = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;

  /** Starts a new reply (drops anything written since the last finish()). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private header(tag: number, n: number | bigint): void {
    this.room(24);
    this.buf[this.pos++] = tag;
    this.pos += this.buf.write(String(n), this.pos, 'latin1');
    this.buf.writeUInt16LE(CRLF, this.pos);
    this.pos += 2;
  }

  array(n: number): this {
    this.header(0x2a, n);
    return this;
  }

  integer(n: number | bigint): this {
    this.header(0x3a, n);
    return this;
  }

  bulk(b: Buffer): this {
    this.header(0x24, b.length);
    this.room(b.length + 2);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    this.buf.writeUInt16LE(CRLF, this.pos);
    this.pos += 2;
    return this;
  }

  /** A bulk string whose bytes are the char codes of a latin1 string. */
  bulkLatin1(s: string): this {
    this.header(0x24, s.length);
    this.room(s.length + 2);
    this.pos += this.buf.write(s, this.pos, 'latin1');
    this.buf.writeUInt16LE(CRLF, this.pos);
    this.pos += 2;
    return this;
  }

  bulkOrNil(b: Buffer | undefined | null): this {
    return b ? this.bulk(b) : this.nil();
  }

  nil(): this {
    this.room(5);
    this.pos += this.buf.write('$-1\r\n', this.pos, 'latin1');
    return this;
  }

  nilArray(): this {
    this.room(5);
    this.pos += this.buf.write('*-1\r\n', this.pos, 'latin1');
    return this;
  }

  simple(s: string): this {
    this.room(s.length + 3);
    this.buf[this.pos++] = 0x2b;
    this.pos += this.buf.write(s, this.pos, 'latin1');
    this.buf.writeUInt16LE(CRLF, this.pos);
    this.pos += 2;
    return this;
  }

  /** Raw bytes appended as they are (memcached replies use the same builder). */
  raw(b: Buffer): this {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }

  rawLatin1(s: string): this {
    this.room(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
    return this;
  }

  /** Copies the reply out: one exact-size allocation. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }
}

/** The shared builder: the store is synchronous and single-threaded, so one scratch area suffices. */
export const W = new RespBuilder();

// Constant replies are shared: callers must never mutate a reply buffer.
export const OK = Buffer.from('+OK\r\n');
export const NIL = Buffer.from('$-1\r\n');
export const NIL_ARRAY = Buffer.from('*-1\r\n');
export const EMPTY_ARRAY = Buffer.from('*0\r\n');
export const EMPTY_BULK = Buffer.from('$0\r\n\r\n');
export const PONG = Buffer.from('+PONG\r\n');

const SMALL_INTS: Buffer[] = [];
for (let i = -1; i <= 1024; i++) SMALL_INTS.push(Buffer.from(`:${i}\r\n`));

export function integer(n: number | bigint): Buffer {
  if (typeof n === 'number' && n >= -1 && n <= 1024) return SMALL_INTS[n + 1]!;
  return W.reset().integer(n).finish();
}

/** A bulk reply sized exactly up front: the GET hot path, one allocation and one copy. */
export function bulk(b: Buffer): Buffer {
  const len = b.length;
  const head = len < 10 ? 1 : len < 100 ? 2 : len < 1000 ? 3 : String(len).length;
  const out = Buffer.allocUnsafe(head + len + 5);
  out[0] = 0x24;
  if (head === 1) out[1] = 0x30 + len;
  else out.write(String(len), 1, 'latin1');
  out.writeUInt16LE(CRLF, head + 1);
  b.copy(out, head + 3);
  out.writeUInt16LE(CRLF, head + 3 + len);
  return out;
}

export function bulkOrNil(b: Buffer | undefined | null): Buffer {
  return b ? W.reset().bulk(b).finish() : NIL;
}

export function bulkLatin1(s: string): Buffer {
  return W.reset().bulkLatin1(s).finish();
}

export function simple(s: string): Buffer {
  return W.reset().simple(s).finish();
}

/** An error reply; `msg` starts with its code (ERR, WRONGTYPE, BUSYKEY, ...). */
export function error(msg: string): Buffer {
  // Redis maps CR/LF in error text to spaces so a reply can never break the protocol.
  return Buffer.from(`-${msg.replace(/[\r\n]/g, ' ')}\r\n`, 'latin1');
}

// Redis 7.0 error messages, one table (their exact text is part of the wire contract).
export const E = {
  WRONGTYPE: error('WRONGTYPE Operation against a key holding the wrong kind of value'),
  NOT_INT: error('ERR value is not an integer or out of range'),
  NOT_FLOAT: error('ERR value is not a valid float'),
  SYNTAX: error('ERR syntax error'),
  OVERFLOW: error('ERR increment or decrement would overflow'),
  NO_KEY: error('ERR no such key'),
  OUT_OF_RANGE: error('ERR index out of range'),
  OFFSET_RANGE: error('ERR offset is out of range'),
  NAN_INF: error('ERR increment would produce NaN or Infinity'),
  HASH_NOT_INT: error('ERR hash value is not an integer'),
  HASH_NOT_FLOAT: error('ERR hash value is not a float'),
  MIN_MAX_FLOAT: error('ERR min or max is not a float'),
  MIN_MAX_LEX: error('ERR min or max not valid string range item'),
  BUSYKEY: error('BUSYKEY Target key name already exists.'),
  BAD_DUMP: error('ERR DUMP payload version or checksum are wrong'),
  BAD_TTL: error('ERR Invalid TTL value, must be >= 0'),
  POSITIVE: error('ERR value is out of range, must be positive'),
  STRING_TOO_LONG: error('ERR string exceeds maximum allowed size (proto-max-bulk-len)'),
  OOM: error("OOM command not allowed when used memory > 'maxmemory'."),
} as const;

export function arityError(name: string): Buffer {
  return error(`ERR wrong number of arguments for '${name}' command`);
}
