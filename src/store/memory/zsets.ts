// Sorted-set commands (t_zset.c) over ZSet (skiplist.ts): member -> score dict plus a skip list
// with spans for O(log n) insert / delete / rank. Scores are replied with `%.17g` (Redis 7.0).
import { optionalCount, positiveLong, scanCollection, typed } from './collection.js';
import { type CommandTable, type Ctx, cstr, isReply, isWord, read, str, write } from './command.js';
import { T_SET, T_ZSET, type Entry } from './keyspace.js';
import { formatDouble, parseDouble, parseInt64, parseRangeDouble } from './numbers.js';
import { E, EMPTY_ARRAY, NIL, W, error, integer } from './resp-writer.js';
import { ZSet, type ZNode } from './skiplist.js';

function zsetOf(e: Entry): ZSet {
  return e.value as ZSet;
}

function score(d: number): Buffer {
  return W.reset().bulkLatin1(formatDouble(d)).finish();
}

function next(n: ZNode): ZNode | null {
  return n.forward[0] ?? null;
}

// ─── ranges ──────────────────────────────────────────────────────────────────────────────────

interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

/** zslParseRange reads each bound as a C string: strtod stops at the first NUL byte. */
function parseScoreItem(b: Buffer): [number, boolean] | null {
  const s = cstr(b);
  const ex = s.charCodeAt(0) === 0x28; // '('
  const v = parseRangeDouble(ex ? s.slice(1) : s);
  return v === null ? null : [v, ex];
}

function parseScoreRange(minB: Buffer, maxB: Buffer): ScoreRange | null {
  const lo = parseScoreItem(minB);
  const hi = parseScoreItem(maxB);
  if (lo === null || hi === null) return null;
  return { min: lo[0], minex: lo[1], max: hi[0], maxex: hi[1] };
}

const gteMin = (r: ScoreRange, v: number): boolean => (r.minex ? v > r.min : v >= r.min);
const lteMax = (r: ScoreRange, v: number): boolean => (r.maxex ? v < r.max : v <= r.max);
const scoreEmpty = (r: ScoreRange): boolean => r.min > r.max || (r.min === r.max && (r.minex || r.maxex));

/** A lex bound: -Infinity / +Infinity for "-" / "+", else the member and exclusivity. */
interface LexBound {
  v: string | number;
  ex: boolean;
}

function parseLexItem(b: Buffer): LexBound | null {
  const c = b[0];
  // "+" / "-" are checked as C strings (`c[1] != '\0'`), the bounds themselves are binary-safe.
  if (c === 0x2b && (b.length === 1 || b[1] === 0)) return { v: Infinity, ex: false };
  if (c === 0x2d && (b.length === 1 || b[1] === 0)) return { v: -Infinity, ex: false };
  if (c === 0x28) return { v: str(b.subarray(1)), ex: true };
  if (c === 0x5b) return { v: str(b.subarray(1)), ex: false };
  return null;
}

function cmpLex(a: string | number, b: string | number): number {
  if (a === b) return 0;
  if (a === -Infinity || b === Infinity) return -1;
  if (a === Infinity || b === -Infinity) return 1;
  return (a as string) < (b as string) ? -1 : 1;
}

interface LexRange {
  min: LexBound;
  max: LexBound;
}

function parseLexRange(minB: Buffer, maxB: Buffer): LexRange | null {
  const min = parseLexItem(minB);
  const max = parseLexItem(maxB);
  return min === null || max === null ? null : { min, max };
}

const lexGteMin = (r: LexRange, m: string): boolean => {
  const c = cmpLex(m, r.min.v);
  return r.min.ex ? c > 0 : c >= 0;
};
const lexLteMax = (r: LexRange, m: string): boolean => {
  const c = cmpLex(m, r.max.v);
  return r.max.ex ? c < 0 : c <= 0;
};
const lexEmpty = (r: LexRange): boolean => {
  const c = cmpLex(r.min.v, r.max.v);
  return c > 0 || (c === 0 && (r.min.ex || r.max.ex));
};

/** Clamps Redis rank arguments; null when the range is empty. */
function rankRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end];
}

// ─── ZRANGE family ───────────────────────────────────────────────────────────────────────────

const RANK = 0, BYSCORE = 1, BYLEX = 2;

/** Redis `zrangeGenericCommand`: `rangeType`/`rev` are fixed by the legacy command names, or -1 / null for ZRANGE. */
function zrange(ctx: Ctx, a: Buffer[], fixedType: number, fixedRev: boolean | null): Buffer {
  let type = fixedType;
  let rev = fixedRev;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = 4; j < a.length; j++) {
    const left = a.length - j - 1;
    if (isWord(a[j]!, 'WITHSCORES')) withScores = true;
    else if (isWord(a[j]!, 'LIMIT') && left >= 2) {
      const o = parseInt64(a[j + 1]!);
      const l = parseInt64(a[j + 2]!);
      if (o === null || l === null) return E.NOT_INT;
      offset = Number(o);
      limit = Number(l);
      j += 2;
    } else if (fixedRev === null && rev === null && isWord(a[j]!, 'REV')) rev = true;
    else if (fixedType < 0 && type < 0 && isWord(a[j]!, 'BYLEX')) type = BYLEX;
    else if (fixedType < 0 && type < 0 && isWord(a[j]!, 'BYSCORE')) type = BYSCORE;
    else return E.SYNTAX;
  }
  if (type < 0) type = RANK;
  const reverse = rev === true;
  if (limit !== -1 && type === RANK)
    return error('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withScores && type === BYLEX) return error('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  let minB = a[2]!;
  let maxB = a[3]!;
  if (reverse && type !== RANK) [minB, maxB] = [maxB, minB];
  let rank: [number, number] | null = null;
  let sr: ScoreRange | null = null;
  let lr: LexRange | null = null;
  if (type === RANK) {
    const s = parseInt64(minB);
    const t = parseInt64(maxB);
    if (s === null || t === null) return E.NOT_INT;
    rank = [Number(s), Number(t)];
  } else if (type === BYSCORE) {
    sr = parseScoreRange(minB, maxB);
    if (sr === null) return E.MIN_MAX_FLOAT;
  } else {
    lr = parseLexRange(minB, maxB);
    if (lr === null) return E.MIN_MAX_LEX;
  }
  const e = typed(ctx, str(a[1]!), T_ZSET);
  if (isReply(e)) return e;
  if (e === undefined) return EMPTY_ARRAY;
  const z = zsetOf(e);
  let nodes: ZNode[];
  if (rank !== null) nodes = byRank(z, rank[0], rank[1], reverse);
  else if (sr !== null) nodes = byScore(z, sr, offset, limit, reverse);
  else nodes = byLex(z, lr!, offset, limit, reverse);
  return emitNodes(nodes, withScores);
}

function emitNodes(nodes: ZNode[], withScores: boolean): Buffer {
  W.reset().array(nodes.length * (withScores ? 2 : 1));
  for (const n of nodes) {
    W.bulkLatin1(n.member);
    if (withScores) W.bulkLatin1(formatDouble(n.score));
  }
  return W.finish();
}

function byRank(z: ZSet, start: number, end: number, reverse: boolean): ZNode[] {
  const r = rankRange(start, end, z.size);
  if (r === null) return [];
  const out: ZNode[] = [];
  const count = r[1] - r[0] + 1;
  let n = z.at(reverse ? z.size - 1 - r[0] : r[0]);
  for (let i = 0; i < count && n !== null; i++) {
    out.push(n);
    n = reverse ? n.backward : next(n);
  }
  return out;
}

/** Shared walk for BYSCORE / BYLEX: start node, skip `offset`, take while `inside`, at most `limit`. */
function walk(first: ZNode | null, inside: (n: ZNode) => boolean, offset: number, limit: number, reverse: boolean): ZNode[] {
  const out: ZNode[] = [];
  let n = first;
  while (n !== null && offset-- !== 0) n = reverse ? n.backward : next(n);
  while (n !== null && limit-- !== 0) {
    if (!inside(n)) break;
    out.push(n);
    n = reverse ? n.backward : next(n);
  }
  return out;
}

function byScore(z: ZSet, r: ScoreRange, offset: number, limit: number, reverse: boolean): ZNode[] {
  if ((offset > 0 && offset >= z.size) || scoreEmpty(r)) return [];
  if (reverse) {
    const last = z.lastWhere((n) => lteMax(r, n.score));
    return walk(last, (n) => gteMin(r, n.score), offset, limit, true);
  }
  const first = z.firstWhere((n) => gteMin(r, n.score));
  return walk(first, (n) => lteMax(r, n.score), offset, limit, false);
}

function byLex(z: ZSet, r: LexRange, offset: number, limit: number, reverse: boolean): ZNode[] {
  if ((offset > 0 && offset >= z.size) || lexEmpty(r)) return [];
  if (reverse) {
    const last = z.lastWhere((n) => lexLteMax(r, n.member));
    return walk(last, (n) => lexGteMin(r, n.member), offset, limit, true);
  }
  const first = z.firstWhere((n) => lexGteMin(r, n.member));
  return walk(first, (n) => lexLteMax(r, n.member), offset, limit, false);
}

// ─── ZADD ────────────────────────────────────────────────────────────────────────────────────

function zadd(ctx: Ctx, a: Buffer[], forceIncr: boolean): Buffer {
  let nx = false, xx = false, gt = false, lt = false, ch = false, incr = forceIncr;
  let i = 2;
  for (; !forceIncr && i < a.length; i++) {
    const o = a[i]!;
    if (isWord(o, 'NX')) nx = true;
    else if (isWord(o, 'XX')) xx = true;
    else if (isWord(o, 'GT')) gt = true;
    else if (isWord(o, 'LT')) lt = true;
    else if (isWord(o, 'CH')) ch = true;
    else if (isWord(o, 'INCR')) incr = true;
    else break;
  }
  const elements = a.length - i;
  if (elements % 2 !== 0 || elements === 0) return E.SYNTAX;
  if (nx && xx) return error('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt))
    return error('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && elements > 2) return error('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let j = i; j < a.length; j += 2) {
    const s = parseDouble(a[j]!);
    if (s === null) return E.NOT_FLOAT;
    scores.push(s);
  }
  const key = str(a[1]!);
  let e = typed(ctx, key, T_ZSET);
  if (isReply(e)) return e;
  let added = 0, updated = 0, processed = 0;
  let last = 0;
  if (e === undefined && !xx) e = ctx.ks.create(key, T_ZSET, new ZSet());
  if (e !== undefined) {
    const z = zsetOf(e);
    for (let k = 0; k < scores.length; k++) {
      const m = str(a[i + 2 * k + 1]!);
      let s = scores[k]!;
      const cur = z.dict.get(m);
      if (cur !== undefined) {
        if (nx) continue;
        if (incr) {
          s += cur;
          if (Number.isNaN(s)) {
            if (z.size === 0) ctx.ks.remove(key, e);
            return error('ERR resulting score is not a number (NaN)');
          }
        }
        if ((lt && s >= cur) || (gt && s <= cur)) continue;
        if (s !== cur) {
          z.set(m, s);
          updated++;
        }
      } else {
        if (xx) continue;
        z.set(m, s);
        added++;
      }
      last = s;
      processed++;
    }
    if (z.size === 0) ctx.ks.remove(key, e);
  }
  if (incr) return processed > 0 ? score(last) : NIL;
  return integer(ch ? added + updated : added);
}

// ─── ZUNIONSTORE / ZINTERSTORE ───────────────────────────────────────────────────────────────

type Aggregate = (acc: number, v: number) => number;
const AGG_SUM: Aggregate = (acc, v) => {
  const r = acc + v;
  return Number.isNaN(r) ? 0 : r;
};
const AGG_MIN: Aggregate = (acc, v) => (v < acc ? v : acc);
const AGG_MAX: Aggregate = (acc, v) => (v > acc ? v : acc);

interface Source {
  items: Map<string, number> | null;
  weight: number;
}

function sourceItems(e: Entry | undefined): Map<string, number> | null {
  if (e === undefined) return null;
  if (e.type === T_ZSET) return zsetOf(e).dict;
  const m = new Map<string, number>();
  for (const member of e.value as Set<string>) m.set(member, 1);
  return m;
}

function zstore(ctx: Ctx, a: Buffer[], union: boolean, name: string): Buffer {
  const n = parseInt64(a[2]!);
  if (n === null) return E.NOT_INT;
  if (n < 1) return error(`ERR at least 1 input key is needed for '${name}' command`);
  const setnum = Number(n);
  if (setnum > a.length - 3) return E.SYNTAX;
  const src: Source[] = [];
  let j = 3;
  for (let i = 0; i < setnum; i++, j++) {
    const e = ctx.ks.lookup(str(a[j]!));
    if (e !== undefined && e.type !== T_ZSET && e.type !== T_SET) return E.WRONGTYPE;
    src.push({ items: sourceItems(e), weight: 1 });
  }
  let agg = AGG_SUM;
  while (j < a.length) {
    const remaining = a.length - j;
    if (remaining >= setnum + 1 && isWord(a[j]!, 'WEIGHTS')) {
      j++;
      for (let i = 0; i < setnum; i++, j++) {
        const w = parseDouble(a[j]!);
        if (w === null) return error('ERR weight value is not a float');
        src[i]!.weight = w;
      }
    } else if (remaining >= 2 && isWord(a[j]!, 'AGGREGATE')) {
      const v = a[j + 1]!;
      if (isWord(v, 'SUM')) agg = AGG_SUM;
      else if (isWord(v, 'MIN')) agg = AGG_MIN;
      else if (isWord(v, 'MAX')) agg = AGG_MAX;
      else return E.SYNTAX;
      j += 2;
    } else return E.SYNTAX;
  }
  const sorted = src.slice().sort((x, y) => (x.items?.size ?? 0) - (y.items?.size ?? 0));
  const out = new Map<string, number>();
  const weighted = (s: Source, v: number): number => {
    const r = s.weight * v;
    return Number.isNaN(r) ? 0 : r;
  };
  if (union) {
    for (const s of sorted) {
      if (s.items === null) continue;
      for (const [m, v] of s.items) {
        const w = weighted(s, v);
        const cur = out.get(m);
        out.set(m, cur === undefined ? w : agg(cur, w));
      }
    }
  } else if (sorted.every((s) => s.items !== null && s.items.size > 0)) {
    const [first, ...rest] = sorted;
    for (const [m, v] of first!.items!) {
      let acc = weighted(first!, v);
      let all = true;
      for (const s of rest) {
        const o = s.items!.get(m);
        if (o === undefined) {
          all = false;
          break;
        }
        acc = agg(acc, weighted(s, o));
      }
      if (all) out.set(m, acc);
    }
  }
  const dst = str(a[1]!);
  ctx.ks.delete(dst);
  if (out.size > 0) {
    const z = new ZSet();
    for (const [m, v] of out) z.set(m, v);
    ctx.ks.create(dst, T_ZSET, z);
  }
  return integer(out.size);
}

// ─── removal by range, pops ──────────────────────────────────────────────────────────────────

function removeNodes(ctx: Ctx, key: string, e: Entry, nodes: ZNode[]): Buffer {
  const z = zsetOf(e);
  for (const n of nodes) z.delete(n.member);
  if (z.size === 0) ctx.ks.remove(key, e);
  return integer(nodes.length);
}

function zremrange(ctx: Ctx, a: Buffer[], kind: number): Buffer {
  let select: (z: ZSet) => ZNode[];
  if (kind === RANK) {
    const s = parseInt64(a[2]!);
    const t = parseInt64(a[3]!);
    if (s === null || t === null) return E.NOT_INT;
    select = (z) => byRank(z, Number(s), Number(t), false);
  } else if (kind === BYSCORE) {
    const r = parseScoreRange(a[2]!, a[3]!);
    if (r === null) return E.MIN_MAX_FLOAT;
    select = (z) => byScore(z, r, 0, -1, false);
  } else {
    const r = parseLexRange(a[2]!, a[3]!);
    if (r === null) return E.MIN_MAX_LEX;
    select = (z) => byLex(z, r, 0, -1, false);
  }
  const key = str(a[1]!);
  const e = typed(ctx, key, T_ZSET);
  if (isReply(e)) return e;
  if (e === undefined) return integer(0);
  return removeNodes(ctx, key, e, select(zsetOf(e)));
}

function zpop(ctx: Ctx, a: Buffer[], max: boolean): Buffer {
  if (a.length > 3) return E.SYNTAX;
  const count = optionalCount(a);
  if (isReply(count)) return count;
  const key = str(a[1]!);
  const e = typed(ctx, key, T_ZSET);
  if (isReply(e)) return e;
  if (e === undefined || count === 0) return EMPTY_ARRAY;
  const z = zsetOf(e);
  const nodes = byRank(z, 0, (count < 0 ? 1 : count) - 1, max);
  const reply = emitNodes(nodes, true);
  removeNodes(ctx, key, e, nodes);
  return reply;
}

function zcount(ctx: Ctx, a: Buffer[], lex: boolean): Buffer {
  let nodes: (z: ZSet) => (ZNode | undefined)[];
  if (lex) {
    const r = parseLexRange(a[2]!, a[3]!);
    if (r === null) return E.MIN_MAX_LEX;
    nodes = (z) => lexCountNodes(z, r);
  } else {
    const r = parseScoreRange(a[2]!, a[3]!);
    if (r === null) return E.MIN_MAX_FLOAT;
    nodes = (z) => scoreCountNodes(z, r);
  }
  const e = typed(ctx, str(a[1]!), T_ZSET);
  if (isReply(e)) return e;
  if (e === undefined) return integer(0);
  const [first, last] = nodes(zsetOf(e));
  if (first === undefined || last === undefined) return integer(0);
  return integer(zsetOf(e).rank(last.member) - zsetOf(e).rank(first.member) + 1);
}

/** First and last nodes of a range, found in O(log n); counting then costs two rank lookups. */
function scoreCountNodes(z: ZSet, r: ScoreRange): (ZNode | undefined)[] {
  if (scoreEmpty(r)) return [];
  const first = z.firstWhere((n) => gteMin(r, n.score));
  if (first === null || !lteMax(r, first.score)) return [];
  return [first, z.lastWhere((n) => lteMax(r, n.score))!];
}

function lexCountNodes(z: ZSet, r: LexRange): (ZNode | undefined)[] {
  if (lexEmpty(r)) return [];
  const first = z.firstWhere((n) => lexGteMin(r, n.member));
  if (first === null || !lexLteMax(r, first.member)) return [];
  return [first, z.lastWhere((n) => lexLteMax(r, n.member))!];
}

function zrank(ctx: Ctx, a: Buffer[], rev: boolean): Buffer {
  const e = typed(ctx, str(a[1]!), T_ZSET);
  if (isReply(e)) return e;
  if (e === undefined) return NIL;
  const r = zsetOf(e).rank(str(a[2]!));
  if (r < 0) return NIL;
  return integer(rev ? zsetOf(e).size - 1 - r : r);
}

export const zsetCommands: CommandTable = {
  zadd: write(-4, (ctx, a) => zadd(ctx, a, false)),
  zincrby: write(4, (ctx, a) => zadd(ctx, a, true)),
  zrem: write(-3, (ctx, a) => {
    const key = str(a[1]!);
    const e = typed(ctx, key, T_ZSET);
    if (isReply(e)) return e;
    if (e === undefined) return integer(0);
    const z = zsetOf(e);
    let n = 0;
    for (let i = 2; i < a.length; i++) if (z.delete(str(a[i]!))) n++;
    if (z.size === 0) ctx.ks.remove(key, e);
    return integer(n);
  }),
  zscore: read(3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_ZSET);
    if (isReply(e)) return e;
    const s = e === undefined ? undefined : zsetOf(e).dict.get(str(a[2]!));
    return s === undefined ? NIL : score(s);
  }),
  zmscore: read(-3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_ZSET);
    if (isReply(e)) return e;
    W.reset().array(a.length - 2);
    for (let i = 2; i < a.length; i++) {
      const s = e === undefined ? undefined : zsetOf(e).dict.get(str(a[i]!));
      if (s === undefined) W.nil();
      else W.bulkLatin1(formatDouble(s));
    }
    return W.finish();
  }),
  zcard: read(2, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_ZSET);
    if (isReply(e)) return e;
    return integer(e === undefined ? 0 : zsetOf(e).size);
  }),
  zcount: read(4, (ctx, a) => zcount(ctx, a, false)),
  zlexcount: read(4, (ctx, a) => zcount(ctx, a, true)),
  zrank: read(3, (ctx, a) => zrank(ctx, a, false)),
  zrevrank: read(3, (ctx, a) => zrank(ctx, a, true)),
  zrange: read(-4, (ctx, a) => zrange(ctx, a, -1, null)),
  zrevrange: read(-4, (ctx, a) => zrange(ctx, a, RANK, true)),
  zrangebyscore: read(-4, (ctx, a) => zrange(ctx, a, BYSCORE, false)),
  zrevrangebyscore: read(-4, (ctx, a) => zrange(ctx, a, BYSCORE, true)),
  zrangebylex: read(-4, (ctx, a) => zrange(ctx, a, BYLEX, false)),
  zrevrangebylex: read(-4, (ctx, a) => zrange(ctx, a, BYLEX, true)),
  zremrangebyrank: write(4, (ctx, a) => zremrange(ctx, a, RANK)),
  zremrangebyscore: write(4, (ctx, a) => zremrange(ctx, a, BYSCORE)),
  zremrangebylex: write(4, (ctx, a) => zremrange(ctx, a, BYLEX)),
  zpopmin: write(-2, (ctx, a) => zpop(ctx, a, false)),
  zpopmax: write(-2, (ctx, a) => zpop(ctx, a, true)),
  zunionstore: write(-4, (ctx, a) => zstore(ctx, a, true, 'zunionstore')),
  zinterstore: write(-4, (ctx, a) => zstore(ctx, a, false, 'zinterstore')),
  zscan: read(-3, (ctx, a) =>
    scanCollection(ctx, a, T_ZSET, function* (e) {
      for (let n = zsetOf(e).first(); n !== null; n = next(n)) yield [n.member, formatDouble(n.score)];
    }),
  ),
};
