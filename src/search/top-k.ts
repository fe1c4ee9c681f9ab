// The first k items of a total order without sorting them all: a bounded heap whose root is the
// worst item kept, so each further item costs one comparison unless it belongs in the top k.
// A query matching n documents and asking for k << n rows pays O(n log k) instead of O(n log n).

/**
 * The k smallest items under `cmp`, in order. `cmp` must be a total order (ties broken by a
 * unique field, e.g. doc id or key) so the result equals `[...items].sort(cmp).slice(0, k)`.
 */
export function topK<T>(items: Iterable<T>, k: number, cmp: (a: T, b: T) => number): T[] {
  const top = new TopK(k, cmp);
  for (const x of items) top.offer(x);
  return top.sorted();
}

/** The bounded heap itself, for callers that build an item only once it can enter (`worst`). */
export class TopK<T> {
  private readonly heap: T[] = [];
  constructor(readonly k: number, private readonly cmp: (a: T, b: T) => number) {}

  /** The item a newcomer must beat (compare below) to enter, or undefined while there is room. */
  worst(): T | undefined {
    return this.heap.length < this.k ? undefined : this.heap[0];
  }

  offer(x: T): void {
    const h = this.heap;
    if (this.k <= 0) return;
    if (h.length < this.k) {
      h.push(x);
      siftUp(h, h.length - 1, this.cmp);
    } else if (this.cmp(x, h[0]!) < 0) {
      h[0] = x;
      siftDown(h, 0, this.cmp);
    }
  }

  /** The items kept, best first. */
  sorted(): T[] {
    return this.heap.sort(this.cmp);
  }
}

// A max-heap under cmp: every parent compares >= its children.
function siftUp<T>(h: T[], i: number, cmp: (a: T, b: T) => number): void {
  const x = h[i]!;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (cmp(h[parent]!, x) >= 0) break;
    h[i] = h[parent]!;
    i = parent;
  }
  h[i] = x;
}

function siftDown<T>(h: T[], i: number, cmp: (a: T, b: T) => number): void {
  const n = h.length;
  const x = h[i]!;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && cmp(h[c + 1]!, h[c]!) > 0) c++;
    if (cmp(h[c]!, x) <= 0) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = x;
}
