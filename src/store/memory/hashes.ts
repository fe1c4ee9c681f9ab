// Hash commands (t_hash.c). A hash is a Map from field (latin1 string) to value bytes; Map keeps
// insertion order, which is also the order of Redis' listpack encoding for small hashes.
import { scanCollection, typed } from './collection.js';
import { type CommandTable, type Ctx, isWord, own, read, str, write, isReply } from './command.js';
import { T_HASH, type Entry } from './keyspace.js';
import { addInt64, formatFloatSum, int64Bytes, parseDouble, parseInt64 } from './numbers.js';
import { E, EMPTY_ARRAY, NIL, OK, W, arityError, bulk, error, integer } from './resp-writer.js';

type Hash = Map<string, Buffer>;

function hashOf(e: Entry): Hash {
  return e.value as Hash;
}

/** The hash at `key`, created when missing; or the WRONGTYPE reply. */
function hashForWrite(ctx: Ctx, key: string): Entry | Buffer {
  const e = typed(ctx, key, T_HASH);
  if (isReply(e)) return e;
  return e ?? ctx.ks.create(key, T_HASH, new Map<string, Buffer>());
}

function hset(ctx: Ctx, a: Buffer[], name: string): number | Buffer {
  if (a.length % 2 === 1) return arityError(name);
  const e = hashForWrite(ctx, str(a[1]!));
  if (isReply(e)) return e;
  const h = hashOf(e);
  let created = 0;
  for (let i = 2; i < a.length; i += 2) {
    const f = str(a[i]!);
    if (!h.has(f)) created++;
    h.set(f, own(a[i + 1]!));
  }
  return created;
}

function listing(ctx: Ctx, a: Buffer[], fields: boolean, values: boolean): Buffer {
  const e = typed(ctx, str(a[1]!), T_HASH);
  if (isReply(e)) return e;
  if (e === undefined) return EMPTY_ARRAY;
  const h = hashOf(e);
  W.reset().array(h.size * ((fields ? 1 : 0) + (values ? 1 : 0)));
  for (const [f, v] of h) {
    if (fields) W.bulkLatin1(f);
    if (values) W.bulk(v);
  }
  return W.finish();
}

export const hashCommands: CommandTable = {
  hset: write(-4, (ctx, a) => {
    const r = hset(ctx, a, 'hset');
    return typeof r === 'number' ? integer(r) : r;
  }),
  hmset: write(-4, (ctx, a) => {
    const r = hset(ctx, a, 'hmset');
    return typeof r === 'number' ? OK : r;
  }),
  hsetnx: write(4, (ctx, a) => {
    const e = hashForWrite(ctx, str(a[1]!));
    if (isReply(e)) return e;
    const f = str(a[2]!);
    if (hashOf(e).has(f)) return integer(0);
    hashOf(e).set(f, own(a[3]!));
    return integer(1);
  }),
  hget: read(3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_HASH);
    if (isReply(e)) return e;
    const v = e === undefined ? undefined : hashOf(e).get(str(a[2]!));
    return v === undefined ? NIL : bulk(v);
  }),
  hmget: read(-3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_HASH);
    if (isReply(e)) return e;
    W.reset().array(a.length - 2);
    for (let i = 2; i < a.length; i++) W.bulkOrNil(e === undefined ? null : hashOf(e).get(str(a[i]!)));
    return W.finish();
  }),
  hdel: write(-3, (ctx, a) => {
    const key = str(a[1]!);
    const e = typed(ctx, key, T_HASH);
    if (isReply(e)) return e;
    if (e === undefined) return integer(0);
    const h = hashOf(e);
    let n = 0;
    for (let i = 2; i < a.length; i++) if (h.delete(str(a[i]!))) n++;
    if (h.size === 0) ctx.ks.remove(key, e);
    return integer(n);
  }),
  hlen: read(2, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_HASH);
    if (isReply(e)) return e;
    return integer(e === undefined ? 0 : hashOf(e).size);
  }),
  hexists: read(3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_HASH);
    if (isReply(e)) return e;
    return integer(e !== undefined && hashOf(e).has(str(a[2]!)) ? 1 : 0);
  }),
  hstrlen: read(3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_HASH);
    if (isReply(e)) return e;
    return integer(e === undefined ? 0 : (hashOf(e).get(str(a[2]!))?.length ?? 0));
  }),
  hgetall: read(2, (ctx, a) => listing(ctx, a, true, true)),
  hkeys: read(2, (ctx, a) => listing(ctx, a, true, false)),
  hvals: read(2, (ctx, a) => listing(ctx, a, false, true)),
  hincrby: write(4, (ctx, a) => {
    const by = parseInt64(a[3]!);
    if (by === null) return E.NOT_INT;
    const e = hashForWrite(ctx, str(a[1]!));
    if (isReply(e)) return e;
    const f = str(a[2]!);
    const old = hashOf(e).get(f);
    const cur = old === undefined ? 0 : parseInt64(old);
    if (cur === null) return E.HASH_NOT_INT;
    const next = addInt64(cur, by);
    if (next === null) return E.OVERFLOW;
    hashOf(e).set(f, int64Bytes(next));
    return integer(next);
  }),
  hincrbyfloat: write(4, (ctx, a) => {
    const by = parseDouble(a[3]!);
    if (by === null) return E.NOT_FLOAT;
    if (!Number.isFinite(by)) return error('ERR value is NaN or Infinity');
    const e = hashForWrite(ctx, str(a[1]!));
    if (isReply(e)) return e;
    const f = str(a[2]!);
    const old = hashOf(e).get(f);
    const cur = old === undefined ? 0 : parseDouble(old);
    if (cur === null) return E.HASH_NOT_FLOAT;
    const next = cur + by;
    if (!Number.isFinite(next)) return E.NAN_INF;
    const bytes = Buffer.from(formatFloatSum(old ?? null, a[3]!, next), 'latin1');
    hashOf(e).set(f, bytes);
    return bulk(bytes);
  }),
  hscan: read(-3, (ctx, a) => scanCollection(ctx, a, T_HASH, (e) => hashOf(e).entries())),
  hrandfield: read(-2, (ctx, a) => {
    let count: number | null = null;
    let withValues = false;
    if (a.length >= 3) {
      const c = parseInt64(a[2]!);
      if (c === null) return E.NOT_INT;
      count = Number(c);
      if (a.length === 4 && isWord(a[3]!, 'WITHVALUES')) withValues = true;
      else if (a.length >= 4) return E.SYNTAX;
    }
    const e = typed(ctx, str(a[1]!), T_HASH);
    if (isReply(e)) return e;
    if (e === undefined) return count === null ? NIL : EMPTY_ARRAY;
    const fields = [...hashOf(e).keys()];
    if (count === null) return W.reset().bulkLatin1(fields[Math.floor(ctx.random() * fields.length)]!).finish();
    const picked = pick(ctx, fields, count);
    W.reset().array(picked.length * (withValues ? 2 : 1));
    for (const f of picked) {
      W.bulkLatin1(f);
      if (withValues) W.bulk(hashOf(e).get(f)!);
    }
    return W.finish();
  }),
};

/** Redis random-count semantics: count >= 0 distinct (at most all), count < 0 with repetitions. */
export function pick(ctx: Ctx, items: string[], count: number): string[] {
  if (count < 0) {
    const out: string[] = [];
    for (let i = 0; i < -count; i++) out.push(items[Math.floor(ctx.random() * items.length)]!);
    return out;
  }
  if (count >= items.length) return items;
  const copy = items.slice();
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(ctx.random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}
