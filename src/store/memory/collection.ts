// Helpers shared by the collection types: typed lookup, removal of emptied keys, the SCAN family
// reply for collections, and Redis' "positive long" argument rules.
import { type Ctx, str, isReply } from './command.js';
import { parseCursor, parseScanOptions } from './generic.js';
import { globMatch } from '../../protocol/glob.js';
import type { Entry } from './keyspace.js';
import { parseInt64 } from './numbers.js';
import { E, W, error } from './resp-writer.js';

/** The entry of `key` if it has type `type`; undefined if missing; the WRONGTYPE reply otherwise. */
export function typed(ctx: Ctx, key: string, type: number): Entry | undefined | Buffer {
  const e = ctx.ks.lookup(key);
  if (e !== undefined && e.type !== type) return E.WRONGTYPE;
  return e;
}

/** Redis deletes a collection key as soon as it becomes empty. */
export function dropIfEmpty(ctx: Ctx, key: string, e: Entry, size: number): void {
  if (size === 0) ctx.ks.remove(key, e);
}

/**
 * Redis `getPositiveLongFromObjectOrReply`: a non-integer or a negative value both give `msg`
 * (default "value is out of range, must be positive").
 */
export function positiveLong(b: Buffer, msg?: string): number | Buffer {
  const v = parseInt64(b);
  if (v === null || v < 0) return msg === undefined ? E.POSITIVE : error(`ERR ${msg}`);
  return Number(v);
}

/**
 * The optional `count` argument of the pop commands (LPOP/RPOP/SPOP/ZPOPMIN/ZPOPMAX key [count]):
 * -1 when absent, the count, or the error reply for a bad one.
 */
export function optionalCount(a: Buffer[]): number | Buffer {
  return a.length === 3 ? positiveLong(a[2]!) : -1;
}

/**
 * HSCAN / SSCAN / ZSCAN. The whole collection is returned in one call with cursor 0, as Redis does
 * for its compact encodings: trivially complete, and the cost is bounded by the collection size.
 * `items` yields [member, extra-or-null] pairs (extra = hash value or zset score text).
 */
export function scanCollection(
  ctx: Ctx,
  a: Buffer[],
  type: number,
  items: (e: Entry) => Iterable<[string, Buffer | string | null]>,
): Buffer {
  if (parseCursor(a[2]!) === null) return error('ERR invalid cursor');
  const e = typed(ctx, str(a[1]!), type);
  if (isReply(e)) return e;
  if (e === undefined) return W.reset().array(2).bulkLatin1('0').array(0).finish();
  const opts = parseScanOptions(a, 3, false);
  if (isReply(opts)) return opts;
  const out: [string, Buffer | string | null][] = [];
  let n = 0;
  if (e !== undefined) {
    for (const it of items(e)) {
      if (opts.match !== null && !globMatch(opts.match, it[0])) continue;
      out.push(it);
      n += it[1] === null ? 1 : 2;
    }
  }
  W.reset().array(2).bulkLatin1('0').array(n);
  for (const [m, x] of out) {
    W.bulkLatin1(m);
    if (x === null) continue;
    if (typeof x === 'string') W.bulkLatin1(x);
    else W.bulk(x);
  }
  return W.finish();
}
