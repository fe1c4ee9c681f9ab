// Keyspace commands (db.c, expire.c, cluster.c DUMP/RESTORE): existence, expiry, iteration,
// renaming and copying, serialization.
import { type CommandTable, type Ctx, cstr, isWord, read, str, write, isReply } from './command.js';
import { cloneValue, dumpValue, loadValue, verifyPayload } from './dump.js';
import { globMatch } from '../../protocol/glob.js';
import { TYPE_NAMES, type Entry } from './keyspace.js';
import { parseInt64 } from './numbers.js';
import { E, NIL, OK, W, bulk, error, integer, simple } from './resp-writer.js';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const X_NX = 1, X_XX = 2, X_GT = 4, X_LT = 8;

function countKeys(ctx: Ctx, a: Buffer[], del: boolean): Buffer {
  let n = 0;
  for (let i = 1; i < a.length; i++) {
    const key = str(a[i]!);
    if (del ? ctx.ks.delete(key) : ctx.ks.lookup(key) !== undefined) n++;
  }
  return integer(n);
}

/** EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT (Redis `expireGenericCommand`). */
function expireGeneric(ctx: Ctx, a: Buffer[], relative: boolean, seconds: boolean, name: string): Buffer {
  let flags = 0;
  for (let j = 3; j < a.length; j++) {
    const o = a[j]!;
    if (isWord(o, 'NX')) flags |= X_NX;
    else if (isWord(o, 'XX')) flags |= X_XX;
    else if (isWord(o, 'GT')) flags |= X_GT;
    else if (isWord(o, 'LT')) flags |= X_LT;
    else return error(`ERR Unsupported option ${cstr(o)}`);
  }
  if (flags & X_NX && flags & (X_XX | X_GT | X_LT))
    return error('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (flags & X_GT && flags & X_LT) return error('ERR GT and LT options at the same time are not compatible');
  const v = parseInt64(a[2]!);
  if (v === null) return E.NOT_INT;
  const bad = error(`ERR invalid expire time in '${name}' command`);
  let when = BigInt(v);
  if (seconds) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) return bad;
    when *= 1000n;
  }
  const base = relative ? BigInt(ctx.now()) : 0n;
  if (when > INT64_MAX - base) return bad;
  when += base;
  const key = str(a[1]!);
  const e = ctx.ks.lookup(key);
  if (e === undefined) return integer(0);
  const at = Number(when);
  if (flags) {
    const cur = e.expireAt === 0 ? -1 : e.expireAt;
    if (flags & X_NX && cur !== -1) return integer(0);
    if (flags & X_XX && cur === -1) return integer(0);
    if (flags & X_GT && (at <= cur || cur === -1)) return integer(0);
    if (flags & X_LT && cur !== -1 && at >= cur) return integer(0);
  }
  if (at <= ctx.now()) ctx.ks.remove(key, e);
  else ctx.ks.setExpire(key, e, Math.max(at, 1));
  return integer(1);
}

function ttlGeneric(ctx: Ctx, a: Buffer[], ms: boolean): Buffer {
  const e = ctx.ks.lookup(str(a[1]!));
  if (e === undefined) return integer(-2);
  if (e.expireAt === 0) return integer(-1);
  const ttl = Math.max(0, e.expireAt - ctx.now());
  return integer(ms ? ttl : Math.floor((ttl + 500) / 1000));
}

interface ScanOptions {
  count: number;
  match: string | null;
  type: string | null;
}

/** The COUNT / MATCH / TYPE options shared by the SCAN family, or an error reply. */
export function parseScanOptions(a: Buffer[], from: number, allowType: boolean): ScanOptions | Buffer {
  const opts: ScanOptions = { count: 10, match: null, type: null };
  for (let i = from; i < a.length; i += 2) {
    const left = a.length - i;
    if (isWord(a[i]!, 'COUNT') && left >= 2) {
      const n = parseInt64(a[i + 1]!);
      if (n === null) return E.NOT_INT;
      if (Number(n) < 1) return E.SYNTAX;
      opts.count = Number(n);
    } else if (isWord(a[i]!, 'MATCH') && left >= 2) {
      opts.match = str(a[i + 1]!);
    } else if (allowType && isWord(a[i]!, 'TYPE') && left >= 2) {
      opts.type = str(a[i + 1]!).toLowerCase();
    } else return E.SYNTAX;
  }
  return opts;
}

/**
 * Redis `parseScanCursorOrReply`: strtoul over the C string (up to a NUL; "" is 0; a sign is
 * accepted and "-n" wraps to a huge cursor, which simply ends the scan), no leading space.
 */
export function parseCursor(b: Buffer): number | null {
  const s = cstr(b);
  if (s === '') return 0;
  if (!/^[+-]?\d{1,20}$/.test(s)) return null;
  const v = Number(s.replace('+', ''));
  if (Math.abs(v) > 18446744073709551615) return null;
  return v < 0 ? Number.MAX_SAFE_INTEGER : v;
}

function renameGeneric(ctx: Ctx, a: Buffer[], nx: boolean): Buffer {
  const src = str(a[1]!);
  const dst = str(a[2]!);
  const e = ctx.ks.lookup(src);
  if (e === undefined) return E.NO_KEY;
  if (src === dst) return nx ? integer(0) : OK;
  const old = ctx.ks.lookup(dst);
  if (old !== undefined) {
    if (nx) return integer(0);
    ctx.ks.remove(dst, old);
  }
  ctx.ks.remove(src, e);
  moveEntry(ctx, dst, e, e.value);
  return nx ? integer(1) : OK;
}

function moveEntry(ctx: Ctx, key: string, from: Entry, value: Entry['value']): void {
  const ne = ctx.ks.create(key, from.type, value);
  ne.flags = from.flags;
  if (from.expireAt !== 0) ctx.ks.setExpire(key, ne, from.expireAt);
}

export const genericCommands: CommandTable = {
  del: write(-2, (ctx, a) => countKeys(ctx, a, true)),
  unlink: write(-2, (ctx, a) => countKeys(ctx, a, true)),
  exists: read(-2, (ctx, a) => countKeys(ctx, a, false)),
  touch: read(-2, (ctx, a) => countKeys(ctx, a, false)),
  expire: write(-3, (ctx, a) => expireGeneric(ctx, a, true, true, 'expire')),
  pexpire: write(-3, (ctx, a) => expireGeneric(ctx, a, true, false, 'pexpire')),
  expireat: write(-3, (ctx, a) => expireGeneric(ctx, a, false, true, 'expireat')),
  pexpireat: write(-3, (ctx, a) => expireGeneric(ctx, a, false, false, 'pexpireat')),
  ttl: read(2, (ctx, a) => ttlGeneric(ctx, a, false)),
  pttl: read(2, (ctx, a) => ttlGeneric(ctx, a, true)),
  expiretime: read(2, (ctx, a) => {
    const e = ctx.ks.lookup(str(a[1]!));
    if (e === undefined) return integer(-2);
    return integer(e.expireAt === 0 ? -1 : Math.floor(e.expireAt / 1000));
  }),
  pexpiretime: read(2, (ctx, a) => {
    const e = ctx.ks.lookup(str(a[1]!));
    if (e === undefined) return integer(-2);
    return integer(e.expireAt === 0 ? -1 : e.expireAt);
  }),
  persist: write(2, (ctx, a) => {
    const key = str(a[1]!);
    const e = ctx.ks.lookup(key);
    if (e === undefined || e.expireAt === 0) return integer(0);
    ctx.ks.setExpire(key, e, 0);
    return integer(1);
  }),
  type: read(2, (ctx, a) => {
    const e = ctx.ks.lookup(str(a[1]!));
    return simple(e === undefined ? 'none' : TYPE_NAMES[e.type]!);
  }),
  keys: read(2, (ctx, a) => {
    const pat = str(a[1]!);
    const out: string[] = [];
    for (const key of [...ctx.ks.map.keys()]) {
      if (globMatch(pat, key) && ctx.ks.lookup(key) !== undefined) out.push(key);
    }
    W.reset().array(out.length);
    for (const k of out) W.bulkLatin1(k);
    return W.finish();
  }),
  scan: read(-2, (ctx, a) => {
    const cursor = parseCursor(a[1]!);
    if (cursor === null) return error('ERR invalid cursor');
    const opts = parseScanOptions(a, 2, true);
    if (isReply(opts)) return opts;
    const out: string[] = [];
    const next = ctx.ks.scan(cursor, opts.count, (key, e) => {
      if (opts.match !== null && !globMatch(opts.match, key)) return;
      if (opts.type !== null && TYPE_NAMES[e.type] !== opts.type) return;
      out.push(key);
    });
    W.reset().array(2).bulkLatin1(String(next)).array(out.length);
    for (const k of out) W.bulkLatin1(k);
    return W.finish();
  }),
  randomkey: read(1, (ctx) => {
    const key = ctx.ks.randomKey(() => ctx.random());
    return key === null ? NIL : W.reset().bulkLatin1(key).finish();
  }),
  dbsize: read(1, (ctx) => integer(ctx.ks.size)),
  flushall: write(-1, (ctx, a) => flush(ctx, a)),
  flushdb: write(-1, (ctx, a) => flush(ctx, a)),
  rename: write(3, (ctx, a) => renameGeneric(ctx, a, false)),
  renamenx: write(3, (ctx, a) => renameGeneric(ctx, a, true)),
  copy: write(-3, (ctx, a) => {
    let replace = false;
    for (let j = 3; j < a.length; j++) {
      if (isWord(a[j]!, 'REPLACE')) replace = true;
      else if (isWord(a[j]!, 'DB') && j + 1 < a.length) {
        const db = parseInt64(a[++j]!);
        if (db === null) return E.NOT_INT;
        if (db !== 0) return error('ERR DB index is out of range');
      } else return E.SYNTAX;
    }
    const src = str(a[1]!);
    const dst = str(a[2]!);
    if (src === dst) return error('ERR source and destination objects are the same');
    const e = ctx.ks.lookup(src);
    if (e === undefined) return integer(0);
    const old = ctx.ks.lookup(dst);
    if (old !== undefined) {
      if (!replace) return integer(0);
      ctx.ks.remove(dst, old);
    }
    moveEntry(ctx, dst, e, cloneValue(e.type, e.value));
    return integer(1);
  }),
  dump: read(2, (ctx, a) => {
    const e = ctx.ks.lookup(str(a[1]!));
    return e === undefined ? NIL : bulk(dumpValue(e));
  }),
  restore: write(-4, (ctx, a) => {
    let replace = false;
    let absttl = false;
    let idle = false;
    let freq = false;
    for (let j = 4; j < a.length; j++) {
      const more = a.length - j - 1;
      if (isWord(a[j]!, 'REPLACE')) replace = true;
      else if (isWord(a[j]!, 'ABSTTL')) absttl = true;
      else if (isWord(a[j]!, 'IDLETIME') && more >= 1 && !freq) {
        const v = parseInt64(a[++j]!);
        if (v === null) return E.NOT_INT;
        if (v < 0) return error('ERR Invalid IDLETIME value, must be >= 0');
        idle = true;
      } else if (isWord(a[j]!, 'FREQ') && more >= 1 && !idle) {
        const v = parseInt64(a[++j]!);
        if (v === null) return E.NOT_INT;
        if (v < 0 || v > 255) return error('ERR Invalid FREQ value, must be >= 0 and <= 255');
        freq = true;
      } else return E.SYNTAX;
    }
    const key = str(a[1]!);
    const old = ctx.ks.lookup(key);
    if (!replace && old !== undefined) return E.BUSYKEY;
    const t = parseInt64(a[2]!);
    if (t === null) return E.NOT_INT;
    if (t < 0) return E.BAD_TTL;
    if (!verifyPayload(a[3]!)) return E.BAD_DUMP;
    const loaded = loadValue(a[3]!);
    if (loaded === null) return error('ERR Bad data format');
    if (old !== undefined) ctx.ks.remove(key, old);
    let ttl = Number(t);
    if (ttl !== 0 && !absttl) ttl += ctx.now();
    if (ttl !== 0 && ttl <= ctx.now()) return OK;
    const e = ctx.ks.create(key, loaded[0], loaded[1]);
    if (ttl !== 0) ctx.ks.setExpire(key, e, ttl);
    return OK;
  }),
};

function flush(ctx: Ctx, a: Buffer[]): Buffer {
  if (a.length > 2 || (a.length === 2 && !isWord(a[1]!, 'ASYNC') && !isWord(a[1]!, 'SYNC'))) return E.SYNTAX;
  ctx.ks.flush();
  return OK;
}


