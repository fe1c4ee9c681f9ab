// List commands (t_list.c) over a ring-buffer Deque: O(1) push/pop at both ends and O(1) index.
import { optionalCount, positiveLong, typed } from './collection.js';
import { type CommandTable, type Ctx, isWord, own, read, str, write, isReply } from './command.js';
import { Deque } from './deque.js';
import { T_LIST, type Entry } from './keyspace.js';
import { parseInt64 } from './numbers.js';
import { E, EMPTY_ARRAY, NIL, NIL_ARRAY, OK, W, bulk, error, integer } from './resp-writer.js';

function listOf(e: Entry): Deque {
  return e.value as Deque;
}

function push(ctx: Ctx, a: Buffer[], left: boolean, onlyIfExists: boolean): Buffer {
  const key = str(a[1]!);
  let e = typed(ctx, key, T_LIST);
  if (isReply(e)) return e;
  if (e === undefined) {
    if (onlyIfExists) return integer(0);
    e = ctx.ks.create(key, T_LIST, new Deque(a.length - 2));
  }
  const d = listOf(e);
  for (let i = 2; i < a.length; i++) {
    if (left) d.pushFront(own(a[i]!));
    else d.pushBack(own(a[i]!));
  }
  return integer(d.length);
}

function pop(ctx: Ctx, a: Buffer[], left: boolean, name: string): Buffer {
  if (a.length > 3) return error(`ERR wrong number of arguments for '${name}' command`);
  const count = optionalCount(a);
  if (isReply(count)) return count;
  const key = str(a[1]!);
  const e = typed(ctx, key, T_LIST);
  if (isReply(e)) return e;
  if (e === undefined) return count < 0 ? NIL : NIL_ARRAY;
  if (count === 0) return EMPTY_ARRAY;
  const d = listOf(e);
  let reply: Buffer;
  if (count < 0) {
    reply = bulk(left ? d.popFront()! : d.popBack()!);
  } else {
    const n = Math.min(count, d.length);
    W.reset().array(n);
    for (let i = 0; i < n; i++) W.bulk(left ? d.popFront()! : d.popBack()!);
    reply = W.finish();
  }
  if (d.length === 0) ctx.ks.remove(key, e);
  return reply;
}

/** LEFT / RIGHT argument of LMOVE: true for LEFT, null for a syntax error. */
function side(b: Buffer): boolean | null {
  if (isWord(b, 'LEFT')) return true;
  if (isWord(b, 'RIGHT')) return false;
  return null;
}

function move(ctx: Ctx, src: string, dst: string, fromLeft: boolean, toLeft: boolean): Buffer {
  const se = typed(ctx, src, T_LIST);
  if (isReply(se)) return se;
  if (se === undefined) return NIL;
  const de = typed(ctx, dst, T_LIST);
  if (isReply(de)) return de;
  const sd = listOf(se);
  const v = fromLeft ? sd.popFront()! : sd.popBack()!;
  const target = de ?? ctx.ks.create(dst, T_LIST, new Deque());
  if (toLeft) listOf(target).pushFront(v);
  else listOf(target).pushBack(v);
  if (sd.length === 0) ctx.ks.remove(src, se);
  return bulk(v);
}

function rangeOf(a: Buffer[]): [number, number] | null {
  const s = parseInt64(a[2]!);
  const t = parseInt64(a[3]!);
  return s === null || t === null ? null : [Number(s), Number(t)];
}

export const listCommands: CommandTable = {
  lpush: write(-3, (ctx, a) => push(ctx, a, true, false)),
  rpush: write(-3, (ctx, a) => push(ctx, a, false, false)),
  lpushx: write(-3, (ctx, a) => push(ctx, a, true, true)),
  rpushx: write(-3, (ctx, a) => push(ctx, a, false, true)),
  lpop: write(-2, (ctx, a) => pop(ctx, a, true, 'lpop')),
  rpop: write(-2, (ctx, a) => pop(ctx, a, false, 'rpop')),
  llen: read(2, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_LIST);
    if (isReply(e)) return e;
    return integer(e === undefined ? 0 : listOf(e).length);
  }),
  lrange: read(4, (ctx, a) => {
    const r = rangeOf(a);
    if (r === null) return E.NOT_INT;
    const e = typed(ctx, str(a[1]!), T_LIST);
    if (isReply(e)) return e;
    if (e === undefined) return EMPTY_ARRAY;
    const d = listOf(e);
    const len = d.length;
    let [start, end] = r;
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (start > end || start >= len) return EMPTY_ARRAY;
    if (end >= len) end = len - 1;
    W.reset().array(end - start + 1);
    for (let i = start; i <= end; i++) W.bulk(d.get(i));
    return W.finish();
  }),
  lindex: read(3, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_LIST);
    if (isReply(e)) return e;
    if (e === undefined) return NIL;
    const i = parseInt64(a[2]!);
    if (i === null) return E.NOT_INT;
    const d = listOf(e);
    let idx = Number(i);
    if (idx < 0) idx += d.length;
    return idx < 0 || idx >= d.length ? NIL : bulk(d.get(idx));
  }),
  lset: write(4, (ctx, a) => {
    const e = typed(ctx, str(a[1]!), T_LIST);
    if (isReply(e)) return e;
    if (e === undefined) return E.NO_KEY;
    const i = parseInt64(a[2]!);
    if (i === null) return E.NOT_INT;
    const d = listOf(e);
    let idx = Number(i);
    if (idx < 0) idx += d.length;
    if (idx < 0 || idx >= d.length) return E.OUT_OF_RANGE;
    d.set(idx, own(a[3]!));
    return OK;
  }),
  linsert: write(5, (ctx, a) => {
    let after: boolean;
    if (isWord(a[2]!, 'AFTER')) after = true;
    else if (isWord(a[2]!, 'BEFORE')) after = false;
    else return E.SYNTAX;
    const e = typed(ctx, str(a[1]!), T_LIST);
    if (isReply(e)) return e;
    if (e === undefined) return integer(0);
    const items = listOf(e).toArray();
    const pivot = a[3]!;
    const at = items.findIndex((b) => b.equals(pivot));
    if (at < 0) return integer(-1);
    items.splice(after ? at + 1 : at, 0, own(a[4]!));
    listOf(e).replaceAll(items);
    return integer(items.length);
  }),
  lrem: write(4, (ctx, a) => {
    const c = parseInt64(a[2]!);
    if (c === null) return E.NOT_INT;
    const key = str(a[1]!);
    const e = typed(ctx, key, T_LIST);
    if (isReply(e)) return e;
    if (e === undefined) return integer(0);
    const count = Number(c);
    const items = listOf(e).toArray();
    const v = a[3]!;
    const limit = count === 0 ? Infinity : Math.abs(count);
    let removed = 0;
    const keep = new Array<boolean>(items.length).fill(true);
    for (let k = 0; k < items.length && removed < limit; k++) {
      const i = count < 0 ? items.length - 1 - k : k;
      if (items[i]!.equals(v)) {
        keep[i] = false;
        removed++;
      }
    }
    if (removed > 0) listOf(e).replaceAll(items.filter((_, i) => keep[i]));
    if (listOf(e).length === 0) ctx.ks.remove(key, e);
    return integer(removed);
  }),
  ltrim: write(4, (ctx, a) => {
    const r = rangeOf(a);
    if (r === null) return E.NOT_INT;
    const key = str(a[1]!);
    const e = typed(ctx, key, T_LIST);
    if (isReply(e)) return e;
    if (e === undefined) return OK;
    const d = listOf(e);
    const len = d.length;
    let [start, end] = r;
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    let ltrim: number;
    let rtrim: number;
    if (start > end || start >= len) {
      ltrim = len;
      rtrim = 0;
    } else {
      if (end >= len) end = len - 1;
      ltrim = start;
      rtrim = len - end - 1;
    }
    for (let i = 0; i < ltrim; i++) d.popFront();
    for (let i = 0; i < rtrim; i++) d.popBack();
    if (d.length === 0) ctx.ks.remove(key, e);
    return OK;
  }),
  rpoplpush: write(3, (ctx, a) => move(ctx, str(a[1]!), str(a[2]!), false, true)),
  lmove: write(5, (ctx, a) => {
    const from = side(a[3]!);
    const to = side(a[4]!);
    if (from === null || to === null) return E.SYNTAX;
    return move(ctx, str(a[1]!), str(a[2]!), from, to);
  }),
  lpos: read(-3, (ctx, a) => {
    let rank = 1;
    let count = -1;
    let maxlen = 0;
    for (let j = 3; j < a.length; j++) {
      const more = a.length - j - 1;
      if (isWord(a[j]!, 'RANK') && more >= 1) {
        const r = parseInt64(a[++j]!);
        if (r === null) return E.NOT_INT;
        if (r === 0)
          return error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
          );
        rank = Number(r);
      } else if (isWord(a[j]!, 'COUNT') && more >= 1) {
        const c = positiveLong(a[++j]!, "COUNT can't be negative");
        if (isReply(c)) return c;
        count = c;
      } else if (isWord(a[j]!, 'MAXLEN') && more >= 1) {
        const m = positiveLong(a[++j]!, "MAXLEN can't be negative");
        if (isReply(m)) return m;
        maxlen = m;
      } else return E.SYNTAX;
    }
    const e = typed(ctx, str(a[1]!), T_LIST);
    if (isReply(e)) return e;
    if (e === undefined) return count >= 0 ? EMPTY_ARRAY : NIL;
    const d = listOf(e);
    const found: number[] = [];
    const want = count === 0 ? Infinity : count < 0 ? 1 : count;
    let toSkip = Math.abs(rank) - 1;
    const v = a[2]!;
    for (let k = 0; k < d.length && found.length < want && (maxlen === 0 || k < maxlen); k++) {
      const i = rank > 0 ? k : d.length - 1 - k;
      if (!d.get(i).equals(v)) continue;
      if (toSkip > 0) toSkip--;
      else found.push(i);
    }
    if (count < 0) return found.length === 0 ? NIL : integer(found[0]!);
    W.reset().array(found.length);
    for (const i of found) W.integer(i);
    return W.finish();
  }),
};
