// A growable FIFO of numbers and one of objects, without Array.shift (O(1) push and pop; grows by
// doubling, never shrinks). Used for in-flight requests and pending replies on the hot path.

export class NumberFifo {
  private a: Float64Array;
  private head = 0;
  private n = 0;

  constructor(capacity = 64) {
    this.a = new Float64Array(pow2(capacity));
  }

  get length(): number {
    return this.n;
  }

  push(v: number): void {
    if (this.n === this.a.length) this.grow();
    this.a[(this.head + this.n) & (this.a.length - 1)] = v;
    this.n++;
  }

  /** Oldest value; undefined behaviour when empty (check length). */
  peek(): number {
    return this.a[this.head];
  }

  at(i: number): number {
    return this.a[(this.head + i) & (this.a.length - 1)];
  }

  set(i: number, v: number): void {
    this.a[(this.head + i) & (this.a.length - 1)] = v;
  }

  shift(): number {
    const v = this.a[this.head];
    this.head = (this.head + 1) & (this.a.length - 1);
    this.n--;
    return v;
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
  }

  private grow(): void {
    const b = new Float64Array(this.a.length * 2);
    for (let i = 0; i < this.n; i++) b[i] = this.a[(this.head + i) & (this.a.length - 1)];
    this.a = b;
    this.head = 0;
  }
}

export class Fifo<T> {
  private a: (T | undefined)[];
  private head = 0;
  private n = 0;

  constructor(capacity = 64) {
    this.a = new Array<T | undefined>(pow2(capacity));
  }

  get length(): number {
    return this.n;
  }

  push(v: T): void {
    if (this.n === this.a.length) this.grow();
    this.a[(this.head + this.n) & (this.a.length - 1)] = v;
    this.n++;
  }

  peek(): T | undefined {
    return this.n === 0 ? undefined : this.a[this.head];
  }

  at(i: number): T | undefined {
    return i < this.n ? this.a[(this.head + i) & (this.a.length - 1)] : undefined;
  }

  set(i: number, v: T): void {
    this.a[(this.head + i) & (this.a.length - 1)] = v;
  }

  shift(): T | undefined {
    if (this.n === 0) return undefined;
    const v = this.a[this.head];
    this.a[this.head] = undefined;
    this.head = (this.head + 1) & (this.a.length - 1);
    this.n--;
    return v;
  }

  clear(): void {
    this.a.fill(undefined);
    this.head = 0;
    this.n = 0;
  }

  private grow(): void {
    const b = new Array<T | undefined>(this.a.length * 2);
    for (let i = 0; i < this.n; i++) b[i] = this.a[(this.head + i) & (this.a.length - 1)];
    this.a = b;
    this.head = 0;
  }
}

function pow2(n: number): number {
  let p = 8;
  while (p < n) p *= 2;
  return p;
}
