// String commands (t_string.c): GET/SET family, ranges, counters, multi-key MGET/MSET.
import { type CommandTable, type Ctx, isWord, own, read, str, write, isReply } from './command.js';
import { T_STRING, type Entry } from './keyspace.js';
import { addInt64, formatFloatSum, type Int64, int64Bytes, parseDouble, parseInt64 } from './numbers.js';
import { E, EMPTY_BULK, NIL, OK, W, arityError, bulk, error, integer } from './resp-writer.js';

const MAX_STRING = 512 * 1024 * 1024;
const INT64_MAX = 9223372036854775807n;

const F_NX = 1, F_XX = 2, F_GET = 4, F_KEEPTTL = 8, F_PERSIST = 16;
const F_EX = 32, F_PX = 64, F_EXAT = 128, F_PXAT = 256;
const ANY_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

interface ExtArgs {
  flags: number;
  expire: Buffer | null;
}

/** Redis `parseExtendedStringArgumentsOrReply`, for SET (isSet) and GETEX; null = syntax error. */
function parseExtended(args: Buffer[], from: number, isSet: boolean): ExtArgs | null {
  let flags = 0;
  let expire: Buffer | null = null;
  for (let j = from; j < args.length; j++) {
    const opt = args[j]!;
    const next = j === args.length - 1 ? null : args[j + 1]!;
    if (isSet && isWord(opt, 'NX') && !(flags & F_XX)) flags |= F_NX;
    else if (isSet && isWord(opt, 'XX') && !(flags & F_NX)) flags |= F_XX;
    else if (isSet && isWord(opt, 'GET')) flags |= F_GET;
    else if (isSet && isWord(opt, 'KEEPTTL') && !(flags & (F_PERSIST | ANY_EXPIRE))) flags |= F_KEEPTTL;
    else if (!isSet && isWord(opt, 'PERSIST') && !(flags & (ANY_EXPIRE | F_KEEPTTL))) flags |= F_PERSIST;
    else if (next && isWord(opt, 'EX') && !(flags & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT))) {
      flags |= F_EX;
      expire = next;
      j++;
    } else if (next && isWord(opt, 'PX') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT))) {
      flags |= F_PX;
      expire = next;
      j++;
    } else if (next && isWord(opt, 'EXAT') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT))) {
      flags |= F_EXAT;
      expire = next;
      j++;
    } else if (next && isWord(opt, 'PXAT') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX))) {
      flags |= F_PXAT;
      expire = next;
      j++;
    } else return null;
  }
  return { flags, expire };
}

/** Redis `getExpireMillisecondsOrReply`: absolute expiry in ms, or an error reply. */
function expireAt(ctx: Ctx, expire: Buffer, flags: number, cmd: string): number | Buffer {
  const v = parseInt64(expire);
  if (v === null) return E.NOT_INT;
  const bad = error(`ERR invalid expire time in '${cmd}' command`);
  let ms = BigInt(v);
  const seconds = (flags & (F_EX | F_EXAT)) !== 0;
  if (ms <= 0n || (seconds && ms > INT64_MAX / 1000n)) return bad;
  if (seconds) ms *= 1000n;
  if (flags & (F_EX | F_PX)) ms += BigInt(ctx.now());
  if (ms > INT64_MAX) return bad;
  return Number(ms);
}

/** Looks a key up for a string read: the entry, undefined when missing, or the WRONGTYPE reply. */
export function stringEntry(ctx: Ctx, key: string): Entry | undefined | Buffer {
  const e = ctx.ks.lookup(key);
  if (e !== undefined && e.type !== T_STRING) return E.WRONGTYPE;
  return e;
}

function setGeneric(ctx: Ctx, keyBuf: Buffer, value: Buffer, flags: number, expire: Buffer | null, cmd: string): Buffer {
  let at = 0;
  if (expire !== null) {
    const r = expireAt(ctx, expire, flags, cmd);
    if (typeof r !== 'number') return r;
    at = r;
  }
  const key = str(keyBuf);
  const e = ctx.ks.lookup(key);
  let reply: Buffer | null = null;
  if (flags & F_GET) {
    if (e !== undefined && e.type !== T_STRING) return E.WRONGTYPE;
    reply = e === undefined ? NIL : bulk(e.value as Buffer);
  }
  if ((flags & F_NX && e !== undefined) || (flags & F_XX && e === undefined)) return reply ?? NIL;
  const ne = ctx.ks.setString(key, own(value), (flags & F_KEEPTTL) !== 0);
  if (at !== 0) ctx.ks.setExpire(key, ne, at);
  return reply ?? OK;
}

function incrBy(ctx: Ctx, keyBuf: Buffer, by: Int64): Buffer {
  const key = str(keyBuf);
  const e = ctx.ks.lookup(key);
  let cur: Int64 = 0;
  if (e !== undefined) {
    if (e.type !== T_STRING) return E.WRONGTYPE;
    const v = parseInt64(e.value as Buffer);
    if (v === null) return E.NOT_INT;
    cur = v;
  }
  const next = addInt64(cur, by);
  if (next === null) return E.OVERFLOW;
  const bytes = int64Bytes(next);
  if (e === undefined) ctx.ks.setString(key, bytes);
  else ctx.ks.updateString(e, bytes);
  return integer(next);
}

function checkLength(offset: number, len: number): boolean {
  return offset + len <= MAX_STRING;
}

export const stringCommands: CommandTable = {
  get: read(2, (ctx, a) => {
    const e = stringEntry(ctx, str(a[1]!));
    if (isReply(e)) return e;
    return e === undefined ? NIL : bulk(e.value as Buffer);
  }),
  set: write(-3, (ctx, a) => {
    const ext = parseExtended(a, 3, true);
    if (ext === null) return E.SYNTAX;
    return setGeneric(ctx, a[1]!, a[2]!, ext.flags, ext.expire, 'set');
  }),
  setnx: write(3, (ctx, a) => {
    const key = str(a[1]!);
    if (ctx.ks.lookup(key) !== undefined) return integer(0);
    ctx.ks.setString(key, own(a[2]!));
    return integer(1);
  }),
  setex: write(4, (ctx, a) => setGeneric(ctx, a[1]!, a[3]!, F_EX, a[2]!, 'setex')),
  psetex: write(4, (ctx, a) => setGeneric(ctx, a[1]!, a[3]!, F_PX, a[2]!, 'psetex')),
  getset: write(3, (ctx, a) => setGeneric(ctx, a[1]!, a[2]!, F_GET, null, 'getset')),
  getdel: write(2, (ctx, a) => {
    const key = str(a[1]!);
    const e = stringEntry(ctx, key);
    if (isReply(e)) return e;
    if (e === undefined) return NIL;
    ctx.ks.remove(key, e);
    return bulk(e.value as Buffer);
  }),
  getex: write(-2, (ctx, a) => {
    const ext = parseExtended(a, 2, false);
    if (ext === null) return E.SYNTAX;
    const key = str(a[1]!);
    const e = stringEntry(ctx, key);
    if (isReply(e)) return e;
    if (e === undefined) return NIL;
    let at = 0;
    if (ext.expire !== null) {
      const r = expireAt(ctx, ext.expire, ext.flags, 'getex');
      if (typeof r !== 'number') return r;
      at = r;
    }
    const reply = bulk(e.value as Buffer);
    if (ext.expire !== null) {
      if (at <= ctx.now()) ctx.ks.remove(key, e);
      else ctx.ks.setExpire(key, e, at);
    } else if (ext.flags & F_PERSIST) ctx.ks.setExpire(key, e, 0);
    return reply;
  }),
  append: write(3, (ctx, a) => {
    const key = str(a[1]!);
    const e = stringEntry(ctx, key);
    if (isReply(e)) return e;
    if (e === undefined) {
      ctx.ks.setString(key, Buffer.from(a[2]!));
      return integer(a[2]!.length);
    }
    const old = e.value as Buffer;
    if (!checkLength(old.length, a[2]!.length)) return E.STRING_TOO_LONG;
    ctx.ks.updateString(e, Buffer.concat([old, a[2]!]));
    return integer(old.length + a[2]!.length);
  }),
  strlen: read(2, (ctx, a) => {
    const e = stringEntry(ctx, str(a[1]!));
    if (isReply(e)) return e;
    return integer(e === undefined ? 0 : (e.value as Buffer).length);
  }),
  getrange: read(4, (ctx, a) => {
    const s = parseInt64(a[2]!);
    const t = parseInt64(a[3]!);
    if (s === null || t === null) return E.NOT_INT;
    let start = Number(s);
    let end = Number(t);
    const e = stringEntry(ctx, str(a[1]!));
    if (isReply(e)) return e;
    if (e === undefined) return EMPTY_BULK;
    const v = e.value as Buffer;
    const len = v.length;
    if (start < 0 && end < 0 && start > end) return EMPTY_BULK;
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len === 0) return EMPTY_BULK;
    return bulk(v.subarray(start, end + 1));
  }),
  setrange: write(4, (ctx, a) => {
    const o = parseInt64(a[2]!);
    if (o === null) return E.NOT_INT;
    const offset = Number(o);
    if (offset < 0) return E.OFFSET_RANGE;
    const value = a[3]!;
    const key = str(a[1]!);
    const e = stringEntry(ctx, key);
    if (isReply(e)) return e;
    const old = e === undefined ? null : (e.value as Buffer);
    if (value.length === 0) return integer(old === null ? 0 : old.length);
    if (!checkLength(offset, value.length)) return E.STRING_TOO_LONG;
    const oldLen = old === null ? 0 : old.length;
    const next = Buffer.alloc(Math.max(oldLen, offset + value.length));
    if (old !== null) old.copy(next);
    value.copy(next, offset);
    if (e === undefined) ctx.ks.setString(key, next);
    else ctx.ks.updateString(e, next);
    return integer(next.length);
  }),
  incr: write(2, (ctx, a) => incrBy(ctx, a[1]!, 1)),
  decr: write(2, (ctx, a) => incrBy(ctx, a[1]!, -1)),
  incrby: write(3, (ctx, a) => {
    const by = parseInt64(a[2]!);
    return by === null ? E.NOT_INT : incrBy(ctx, a[1]!, by);
  }),
  decrby: write(3, (ctx, a) => {
    const by = parseInt64(a[2]!);
    if (by === null) return E.NOT_INT;
    if (by === -9223372036854775808n) return error('ERR decrement would overflow');
    return incrBy(ctx, a[1]!, -by);
  }),
  incrbyfloat: write(3, (ctx, a) => {
    const key = str(a[1]!);
    const e = stringEntry(ctx, key);
    if (isReply(e)) return e;
    const cur = e === undefined ? 0 : parseDouble(e.value as Buffer);
    const by = parseDouble(a[2]!);
    if (cur === null || by === null) return E.NOT_FLOAT;
    const next = cur + by;
    if (!Number.isFinite(next)) return E.NAN_INF;
    const bytes = Buffer.from(formatFloatSum(e === undefined ? null : (e.value as Buffer), a[2]!, next), 'latin1');
    if (e === undefined) ctx.ks.setString(key, bytes);
    else ctx.ks.updateString(e, bytes);
    return bulk(bytes);
  }),
  mget: read(-2, (ctx, a) => {
    W.reset().array(a.length - 1);
    for (let i = 1; i < a.length; i++) {
      const e = ctx.ks.lookup(str(a[i]!));
      W.bulkOrNil(e !== undefined && e.type === T_STRING ? (e.value as Buffer) : null);
    }
    return W.finish();
  }),
  mset: write(-3, (ctx, a) => {
    if (a.length % 2 === 0) return arityError('mset');
    for (let i = 1; i < a.length; i += 2) ctx.ks.setString(str(a[i]!), own(a[i + 1]!));
    return OK;
  }),
  msetnx: write(-3, (ctx, a) => {
    if (a.length % 2 === 0) return arityError('msetnx');
    for (let i = 1; i < a.length; i += 2) if (ctx.ks.lookup(str(a[i]!)) !== undefined) return integer(0);
    for (let i = 1; i < a.length; i += 2) ctx.ks.setString(str(a[i]!), own(a[i + 1]!));
    return integer(1);
  }),
};
