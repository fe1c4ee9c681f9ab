// Set commands (t_set.c). A set is a JS Set of latin1 member strings. Random picks (SPOP,
// SRANDMEMBER) copy the members to an array: O(n) per call, documented trade-off for simplicity.
import { optionalCount, positiveLong, scanCollection, typed } from './collection.js';
import { type CommandTable, type Ctx, isWord, read, str, write, isReply } from './command.js';
import { pick } from './hashes.js';
import { T_SET, type Entry } from './keyspace.js';
import { parseInt64 } from './numbers.js';
import { E, EMPTY_ARRAY, NIL, W, error, integer } from './resp-writer.js';

function setOf(e: Entry): Set<string> {
  return e.value as Set<string>;
}

function members(list: Iterable<string>, n: number): Buffer {
  W.reset().array(n);
  for (const m of list) W.bulkLatin1(m);
  return W.finish();
}

/** Looks every key up (all type-checked first, as Redis does); missing keys are empty sets. */
function loadSets(ctx: Ctx, a: Buffer[], from: number, to: number): (Set<string> | null)[] | Buffer {
  const sets: (Set<string> | null)[] = [];
  for (let i = from; i < to; i++) {
    const e = typed(ctx, str(a[i]!), T_SET);
    if (isReply(e)) return e;
    sets.push(e === undefined ? null : setOf(e));
  }
  return sets;
}

type Op = 'union' | 'inter' | 'diff';

function combine(sets: (Set<string> | null)[], op: Op): Set<string> {
  if (op === 'union') {
    const out = new Set<string>();
    for (const s of sets) if (s) for (const m of s) out.add(m);
    return out;
  }
  if (op === 'diff') {
    const out = new Set<string>(sets[0] ?? []);
    for (let i = 1; i < sets.length && out.size > 0; i++) {
      const s = sets[i];
      if (s) for (const m of s) out.delete(m);
    }
    return out;
  }
  if (sets.some((s) => s === null)) return new Set<string>();
  const sorted = (sets as Set<string>[]).slice().sort((x, y) => x.size - y.size);
  const out = new Set<string>();
  for (const m of sorted[0]!) if (sorted.every((s) => s.has(m))) out.add(m);
  return out;
}

function algebra(ctx: Ctx, a: Buffer[], op: Op): Buffer {
  const sets = loadSets(ctx, a, 1, a.length);
  if (isReply(sets)) return sets;
  const out = combine(sets, op);
  return members(out, out.size);
}

function algebraStore(ctx: Ctx, a: Buffer[], op: Op): Buffer {
  const sets = loadSets(ctx, a, 2, a.length);
  if (isReply(sets)) return sets;
  const out = combine(sets, op);
  const dst = str(a[1]!);
  ctx.ks.delete(dst);
  if (out.size > 0) ctx.ks.create(dst, T_SET, out === sets[0] ? new Set(out) : out);
  return integer(out.size);
}

export const setCommands: CommandTable = {
  sadd: write(-3, (ctx, a) => {
    const key = str(a[1]!);
    let e = typed(ctx, key, T_SET);
    if (isReply(e)) return e;
    e ??= ctx.ks.create(key, T_SET, new Set<string>());
    const s = setOf(e);
    const before = s.size;
    for (let i = 2; i < a.length; i++) s.add(str(a[i]!));
    return integer(s.size - before);
  }),
  srem: write(-3, (ctx, a) => {
    const key = str(a[1]!);
    const e = typed(ctx, key, T_SET);
    if (isReply(e)) return e;
    if (e === undefined) return integer(0);
    const s = setOf(e);
    let n = 0;
    for (let i = 2; i < a.length && s.size > 0; i++) if (s.delete(str(a[i]!))) n++;
    if (s.size === 0) ctx.ks.remove(key, e);
    return integer(n);
  }),
  smembers: read(2, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_SET);
    if (isReply(e)) return e;
    return e === undefined ? EMPTY_ARRAY : members(setOf(e), setOf(e).size);
  }),
  sismember: read(3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_SET);
    if (isReply(e)) return e;
    return integer(e !== undefined && setOf(e).has(str(a[2]!)) ? 1 : 0);
  }),
  smismember: read(-3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_SET);
    if (isReply(e)) return e;
    W.reset().array(a.length - 2);
    for (let i = 2; i < a.length; i++) W.integer(e !== undefined && setOf(e).has(str(a[i]!)) ? 1 : 0);
    return W.finish();
  }),
  scard: read(2, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_SET);
    if (isReply(e)) return e;
    return integer(e === undefined ? 0 : setOf(e).size);
  }),
  spop: write(-2, (ctx, a) => {
    if (a.length > 3) return E.SYNTAX;
    const count = optionalCount(a);
    if (isReply(count)) return count;
    const key = str(a[1]!);
    const e = typed(ctx, key, T_SET);
    if (isReply(e)) return e;
    if (e === undefined) return count < 0 ? NIL : EMPTY_ARRAY;
    if (count === 0) return EMPTY_ARRAY;
    const s = setOf(e);
    const chosen = pick(ctx, [...s], count < 0 ? 1 : count);
    for (const m of chosen) s.delete(m);
    if (s.size === 0) ctx.ks.remove(key, e);
    if (count < 0) return W.reset().bulkLatin1(chosen[0]!).finish();
    return members(chosen, chosen.length);
  }),
  srandmember: read(-2, (ctx, a) => {
    if (a.length > 3) return E.SYNTAX;
    let count: number | null = null;
    if (a.length === 3) {
      const c = parseInt64(a[2]!);
      if (c === null) return E.NOT_INT;
      if (c === -9223372036854775808n) return error('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
      count = Number(c);
    }
    const e = typed(ctx, str(a[1]!), T_SET);
    if (isReply(e)) return e;
    if (e === undefined) return count === null ? NIL : EMPTY_ARRAY;
    const all = [...setOf(e)];
    if (count === null) return W.reset().bulkLatin1(all[Math.floor(ctx.random() * all.length)]!).finish();
    const chosen = pick(ctx, all, count);
    return members(chosen, chosen.length);
  }),
  smove: write(4, (ctx, a) => {
    const src = str(a[1]!);
    const dst = str(a[2]!);
    const se = ctx.ks.lookup(src);
    const de = ctx.ks.lookup(dst);
    if (se === undefined) return integer(0);
    if (se.type !== T_SET || (de !== undefined && de.type !== T_SET)) return E.WRONGTYPE;
    const m = str(a[3]!);
    if (se === de) return integer(setOf(se).has(m) ? 1 : 0);
    if (!setOf(se).delete(m)) return integer(0);
    if (setOf(se).size === 0) ctx.ks.remove(src, se);
    const target = de ?? ctx.ks.create(dst, T_SET, new Set<string>());
    setOf(target).add(m);
    return integer(1);
  }),
  sunion: read(-2, (ctx, a) => algebra(ctx, a, 'union')),
  sinter: read(-2, (ctx, a) => algebra(ctx, a, 'inter')),
  sdiff: read(-2, (ctx, a) => algebra(ctx, a, 'diff')),
  sunionstore: write(-3, (ctx, a) => algebraStore(ctx, a, 'union')),
  sinterstore: write(-3, (ctx, a) => algebraStore(ctx, a, 'inter')),
  sdiffstore: write(-3, (ctx, a) => algebraStore(ctx, a, 'diff')),
  sintercard: read(-3, (ctx, a) => {
    const n = parseInt64(a[1]!);
    if (n === null || n < 1) return error('ERR numkeys should be greater than 0');
    const numkeys = Number(n);
    if (numkeys > a.length - 2) return error("ERR Number of keys can't be greater than number of args");
    let limit = 0;
    for (let j = 2 + numkeys; j < a.length; j++) {
      if (isWord(a[j]!, 'LIMIT') && j + 1 < a.length) {
        const l = positiveLong(a[++j]!, "LIMIT can't be negative");
        if (isReply(l)) return l;
        limit = l;
      } else return E.SYNTAX;
    }
    const sets = loadSets(ctx, a, 2, 2 + numkeys);
    if (isReply(sets)) return sets;
    const size = combine(sets, 'inter').size;
    return integer(limit > 0 ? Math.min(limit, size) : size);
  }),
  sscan: read(-3, (ctx, a) =>
    scanCollection(ctx, a, T_SET, function* (e) {
      for (const m of setOf(e)) yield [m, null];
    }),
  ),
};
