// The sorted-set structure: a dict (member -> score) for O(1) ZSCORE plus a skip list with spans,
// as in Redis t_zset.c, for O(log n) insert, delete, rank and "element at rank".
//
//   level 2:  head ───────────────5──────────────► c ─────► nil      each forward link stores the
//   level 1:  head ───2────► a ───3──────────────► c ─1─► d          span = number of nodes it skips
//   level 0:  head ─1─► x ─1─► a ─1─► b ─1─► ... ─1─► c ─1─► d       (so rank = sum of spans walked)
//
// Order: by score, then by member bytes (latin1 string comparison equals memcmp order).

const MAX_LEVEL = 32;

export class ZNode {
  readonly forward: (ZNode | null)[];
  readonly span: number[];
  backward: ZNode | null = null;
  constructor(
    readonly member: string,
    public score: number,
    level: number,
  ) {
    this.forward = new Array<ZNode | null>(level).fill(null);
    this.span = new Array<number>(level).fill(0);
  }
}

function before(score: number, member: string, node: ZNode): boolean {
  return node.score < score || (node.score === score && node.member < member);
}

export class ZSet {
  readonly dict = new Map<string, number>();
  private readonly head = new ZNode('', 0, MAX_LEVEL);
  tail: ZNode | null = null;
  private level = 1;

  get size(): number {
    return this.dict.size;
  }

  private randomLevel(): number {
    let level = 1;
    while (level < MAX_LEVEL && Math.random() < 0.25) level++;
    return level;
  }

  /** Adds a member or moves it to a new score. */
  set(member: string, score: number): void {
    const old = this.dict.get(member);
    if (old !== undefined) {
      if (old === score) return;
      this.unlink(member, old);
    }
    this.dict.set(member, score);
    this.insert(member, score);
  }

  delete(member: string): boolean {
    const score = this.dict.get(member);
    if (score === undefined) return false;
    this.dict.delete(member);
    this.unlink(member, score);
    return true;
  }

  private insert(member: string, score: number): void {
    const update: ZNode[] = new Array<ZNode>(MAX_LEVEL);
    const rank: number[] = new Array<number>(MAX_LEVEL);
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      rank[i] = i === this.level - 1 ? 0 : rank[i + 1]!;
      let next = x.forward[i];
      while (next && before(score, member, next)) {
        rank[i]! += x.span[i]!;
        x = next;
        next = x.forward[i];
      }
      update[i] = x;
    }
    const level = this.randomLevel();
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rank[i] = 0;
        update[i] = this.head;
        this.head.span[i] = this.dict.size - 1; // size already counts the new member
      }
      this.level = level;
    }
    const node = new ZNode(member, score, level);
    for (let i = 0; i < level; i++) {
      const u = update[i]!;
      node.forward[i] = u.forward[i]!;
      u.forward[i] = node;
      node.span[i] = u.span[i]! - (rank[0]! - rank[i]!);
      u.span[i] = rank[0]! - rank[i]! + 1;
    }
    for (let i = level; i < this.level; i++) update[i]!.span[i]!++;
    node.backward = update[0] === this.head ? null : update[0]!;
    if (node.forward[0]) node.forward[0].backward = node;
    else this.tail = node;
  }

  private unlink(member: string, score: number): void {
    const update: ZNode[] = new Array<ZNode>(MAX_LEVEL);
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next && before(score, member, next)) {
        x = next;
        next = x.forward[i];
      }
      update[i] = x;
    }
    const node = x.forward[0];
    if (!node || node.member !== member) return;
    for (let i = 0; i < this.level; i++) {
      const u = update[i]!;
      if (u.forward[i] === node) {
        u.span[i]! += node.span[i]! - 1;
        u.forward[i] = node.forward[i]!;
      } else {
        u.span[i]!--;
      }
    }
    if (node.forward[0]) node.forward[0].backward = node.backward;
    else this.tail = node.backward;
    while (this.level > 1 && this.head.forward[this.level - 1] === null) this.level--;
  }

  /** 0-based rank of a member, or -1. */
  rank(member: string): number {
    const score = this.dict.get(member);
    if (score === undefined) return -1;
    let r = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next && (before(score, member, next) || next.member === member)) {
        r += x.span[i]!;
        x = next;
        if (x.member === member) return r - 1;
        next = x.forward[i];
      }
    }
    return -1;
  }

  /** The node at 0-based rank r (0 <= r < size). */
  at(r: number): ZNode | null {
    let traversed = 0;
    let x = this.head;
    const target = r + 1;
    for (let i = this.level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next && traversed + x.span[i]! <= target) {
        traversed += x.span[i]!;
        x = next;
        next = x.forward[i];
      }
      if (traversed === target) return x;
    }
    return null;
  }

  first(): ZNode | null {
    return this.head.forward[0] ?? null;
  }

  /** The first node for which `inRangeFromLeft` holds (predicate monotone: false...false true...). */
  firstWhere(reached: (n: ZNode) => boolean): ZNode | null {
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next && !reached(next)) {
        x = next;
        next = x.forward[i];
      }
    }
    return x.forward[0] ?? null;
  }

  /** The last node for which `within` holds (predicate monotone: true...true false...). */
  lastWhere(within: (n: ZNode) => boolean): ZNode | null {
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let next = x.forward[i];
      while (next && within(next)) {
        x = next;
        next = x.forward[i];
      }
    }
    return x === this.head ? null : x;
  }
}
