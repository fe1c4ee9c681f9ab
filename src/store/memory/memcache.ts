// memcached 1.6 text-protocol verbs over the same keyspace as the Redis commands. A memcached item
// is a string entry; its client flags and CAS unique live on the Entry. Entries written through
// Redis commands have cas 0 and get a fresh CAS unique the first time `gets` sees them.
//
// Input contract (the proxy has already split the command line): `verb` is the first word (case
// sensitive, as in memcached), `tokens` the remaining words, `data` the data block of a storage
// verb without its trailing "\r\n". Reply: the exact bytes memcached sends, or an empty Buffer for
// a successful "noreply" command.
import type { Ctx } from './command.js';
import { T_STRING, type Entry } from './keyspace.js';
import { W } from './resp-writer.js';

const KEY_MAX_LENGTH = 250;
const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;
const U64 = 18446744073709551616n;
const EMPTY = Buffer.alloc(0);

const line = (s: string): Buffer => Buffer.from(`${s}\r\n`, 'latin1');
const R = {
  STORED: line('STORED'),
  NOT_STORED: line('NOT_STORED'),
  EXISTS: line('EXISTS'),
  NOT_FOUND: line('NOT_FOUND'),
  DELETED: line('DELETED'),
  TOUCHED: line('TOUCHED'),
  OK: line('OK'),
  END: line('END'),
  ERROR: line('ERROR'),
  BAD_FORMAT: line('CLIENT_ERROR bad command line format'),
  BAD_CHUNK: line('CLIENT_ERROR bad data chunk'),
  NON_NUMERIC: line('CLIENT_ERROR cannot increment or decrement non-numeric value'),
  BAD_DELTA: line('CLIENT_ERROR invalid numeric delta argument'),
  BAD_EXPTIME: line('CLIENT_ERROR invalid exptime argument'),
  DELETE_USAGE: line('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]'),
  VERSION: line('VERSION 1.6.18'),
} as const;

const U64_MAX = 18446744073709551615n;
const I64_MAX = 9223372036854775807n;

/**
 * memcached `safe_strtoul` into a uint32_t: strtoul over the whole token (no '-'), range-checked
 * only against unsigned long, then truncated to 32 bits (so 4294967296 reads as 0, as in memcached).
 */
function parseUnsigned(b: Buffer): number | null {
  const s = b.toString('latin1');
  if (!/^\+?\d+$/.test(s)) return null;
  const v = BigInt(s);
  return v > U64_MAX ? null : Number(BigInt.asUintN(32, v));
}

/** memcached `safe_strtol` into an int32_t: range-checked against long, then truncated to 32 bits. */
function parseSigned(b: Buffer): number | null {
  const s = b.toString('latin1');
  if (!/^[+-]?\d+$/.test(s)) return null;
  const v = BigInt(s);
  return v > I64_MAX || v < -I64_MAX - 1n ? null : Number(BigInt.asIntN(32, v));
}

/**
 * memcached `safe_strtoull`: strtoull (leading whitespace, optional '+', digits), accepted when the
 * next byte is whitespace or the end, so "12 abc" reads as 12 (item data is followed by "\r\n" in
 * memcached, hence `lenient` for values); out of range or any '-' is an error.
 */
function parseU64(s: string, lenient: boolean): bigint | null {
  const m = lenient ? /^[ \t\n\v\f\r]*\+?(\d+)(?:[ \t\n\v\f\r]|$)/.exec(s) : /^\+?(\d+)$/.exec(s);
  if (m === null) return null;
  const v = BigInt(m[1]!);
  return v > U64_MAX ? null : v;
}

export class Memcache {
  private casCounter = 0;

  constructor(private readonly ctx: Ctx) {}

  /** memcached `realtime()`: exptime in seconds (relative, or absolute beyond 30 days) to ms. */
  private expireAt(exptime: number): number {
    if (exptime === 0) return 0;
    if (exptime < 0) return -1;
    if (exptime > REALTIME_MAXDELTA) return exptime * 1000;
    return this.ctx.now() + exptime * 1000;
  }

  private applyExpiry(key: string, e: Entry, at: number): void {
    if (at === -1 || (at !== 0 && at <= this.ctx.now())) this.ctx.ks.remove(key, e);
    else this.ctx.ks.setExpire(key, e, at);
  }

  private item(key: string): Entry | undefined {
    const e = this.ctx.ks.lookup(key);
    return e !== undefined && e.type === T_STRING ? e : undefined;
  }

  private casOf(e: Entry): number {
    if (e.cas === 0) e.cas = ++this.casCounter;
    return e.cas;
  }

  execute(verb: string, tokens: Buffer[], data?: Buffer): Buffer {
    const noreply = tokens.length > 0 && tokens[tokens.length - 1]!.toString('latin1') === 'noreply';
    let reply: Buffer;
    switch (verb) {
      case 'get':
      case 'gets':
        return this.get(tokens, verb === 'gets', null);
      case 'gat':
      case 'gats':
        return this.gat(tokens, verb === 'gats');
      case 'set':
      case 'add':
      case 'replace':
      case 'append':
      case 'prepend':
      case 'cas':
        reply = this.store(verb, tokens, data);
        break;
      case 'incr':
      case 'decr':
        reply = this.arith(tokens, verb === 'incr');
        break;
      case 'delete':
        reply = this.delete(tokens, noreply);
        break;
      case 'touch':
        reply = this.touch(tokens);
        break;
      case 'flush_all':
        reply = this.flushAll(tokens, noreply);
        break;
      case 'version':
        return R.VERSION;
      default:
        return R.ERROR;
    }
    return noreply && reply !== R.ERROR ? EMPTY : reply;
  }

  private get(keys: Buffer[], withCas: boolean, touchAt: number | null): Buffer {
    if (keys.length === 0) return R.ERROR;
    W.reset();
    for (const kb of keys) {
      if (kb.length > KEY_MAX_LENGTH) return R.BAD_FORMAT;
      const key = kb.toString('latin1');
      const e = this.item(key);
      if (e === undefined) continue;
      const v = e.value as Buffer;
      W.rawLatin1('VALUE ').raw(kb).rawLatin1(` ${e.flags} ${v.length}`);
      if (withCas) W.rawLatin1(` ${this.casOf(e)}`);
      W.rawLatin1('\r\n').raw(v).rawLatin1('\r\n');
      if (touchAt !== null) this.applyExpiry(key, e, touchAt);
    }
    return W.rawLatin1('END\r\n').finish();
  }

  private gat(tokens: Buffer[], withCas: boolean): Buffer {
    if (tokens.length < 2) return R.ERROR;
    const exptime = parseSigned(tokens[0]!);
    if (exptime === null) return R.BAD_EXPTIME;
    return this.get(tokens.slice(1), withCas, this.expireAt(exptime));
  }

  private store(verb: string, t: Buffer[], data: Buffer | undefined): Buffer {
    const isCas = verb === 'cas';
    const base = isCas ? 5 : 4;
    if (t.length !== base && t.length !== base + 1) return R.ERROR;
    if (t[0]!.length > KEY_MAX_LENGTH) return R.BAD_FORMAT;
    const flags = parseUnsigned(t[1]!);
    const exptime = parseSigned(t[2]!);
    const bytes = parseSigned(t[3]!);
    if (flags === null || exptime === null || bytes === null) return R.BAD_FORMAT;
    const casIn = isCas ? parseU64(t[4]!.toString('latin1'), false) : null;
    if (isCas && casIn === null) return R.BAD_FORMAT;
    if (bytes < 0) return R.BAD_FORMAT;
    if (data === undefined || data.length !== bytes) return R.BAD_CHUNK;
    const key = t[0]!.toString('latin1');
    const e = this.item(key);
    const at = this.expireAt(exptime);
    switch (verb) {
      case 'add':
        if (e !== undefined) return R.NOT_STORED;
        break;
      case 'replace':
        if (e === undefined) return R.NOT_STORED;
        break;
      case 'append':
      case 'prepend': {
        if (e === undefined) return R.NOT_STORED;
        const old = e.value as Buffer;
        this.ctx.ks.updateString(e, verb === 'append' ? Buffer.concat([old, data]) : Buffer.concat([data, old]));
        e.cas = ++this.casCounter;
        return R.STORED;
      }
      case 'cas':
        if (e === undefined) return R.NOT_FOUND;
        if (BigInt(this.casOf(e)) !== casIn) return R.EXISTS;
        break;
    }
    const ne = this.ctx.ks.setString(key, Buffer.from(data));
    ne.flags = flags;
    ne.cas = ++this.casCounter;
    if (at !== 0) this.applyExpiry(key, ne, at);
    return R.STORED;
  }

  private arith(t: Buffer[], incr: boolean): Buffer {
    if (t.length !== 2 && t.length !== 3) return R.ERROR;
    if (t[0]!.length > KEY_MAX_LENGTH) return R.BAD_FORMAT;
    const delta = parseU64(t[1]!.toString('latin1'), false);
    if (delta === null) return R.BAD_DELTA;
    const e = this.item(t[0]!.toString('latin1'));
    if (e === undefined) return R.NOT_FOUND;
    const old = e.value as Buffer;
    const cur = old.length === 0 ? null : parseU64(old.toString('latin1'), true);
    if (cur === null) return R.NON_NUMERIC;
    let next: bigint;
    if (incr) next = (cur + delta) % U64;
    else next = delta > cur ? 0n : cur - delta;
    const text = next.toString();
    // memcached rewrites in place when the number fits, padding with spaces to the old length.
    const value = text.length <= old.length ? Buffer.from(text.padEnd(old.length, ' '), 'latin1') : Buffer.from(text, 'latin1');
    this.ctx.ks.updateString(e, value);
    e.cas = ++this.casCounter;
    return Buffer.from(`${text}\r\n`, 'latin1');
  }

  private delete(t: Buffer[], noreply: boolean): Buffer {
    if (t.length === 0) return R.ERROR;
    if (t.length > 1) {
      const holdZero = t[1]!.toString('latin1') === '0';
      const valid = (t.length === 2 && (holdZero || noreply)) || (t.length === 3 && holdZero && noreply);
      if (!valid) return R.DELETE_USAGE;
    }
    if (t[0]!.length > KEY_MAX_LENGTH) return R.BAD_FORMAT;
    const key = t[0]!.toString('latin1');
    const e = this.item(key);
    if (e === undefined) return R.NOT_FOUND;
    this.ctx.ks.remove(key, e);
    return R.DELETED;
  }

  private touch(t: Buffer[]): Buffer {
    if (t.length !== 2 && t.length !== 3) return R.ERROR;
    if (t[0]!.length > KEY_MAX_LENGTH) return R.BAD_FORMAT;
    const exptime = parseSigned(t[1]!);
    if (exptime === null) return R.BAD_EXPTIME;
    const key = t[0]!.toString('latin1');
    const e = this.item(key);
    if (e === undefined) return R.NOT_FOUND;
    this.applyExpiry(key, e, this.expireAt(exptime));
    return R.TOUCHED;
  }

  /** flush_all [delay] [noreply]: a delay is accepted but the flush is immediate (documented). */
  private flushAll(t: Buffer[], noreply: boolean): Buffer {
    const args = noreply ? t.length - 1 : t.length;
    if (args > 1) return R.ERROR;
    if (args === 1 && parseSigned(t[0]!) === null) return R.BAD_EXPTIME;
    this.ctx.ks.flush();
    return R.OK;
  }
}
