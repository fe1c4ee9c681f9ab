// A growable ring buffer of Buffers: O(1) push/pop at both ends and O(1) indexed access, for the
// list type (Array.shift would be O(n)).
//
//   items: [ . . . h0 h1 h2 . . ]    head = index of the first element, mask = capacity - 1
//                  ^head              element i lives at items[(head + i) & mask]

export class Deque {
  private items: (Buffer | undefined)[];
  private head = 0;
  private mask: number;
  length = 0;

  constructor(capacity = 8) {
    let cap = 8;
    while (cap < capacity) cap *= 2;
    this.items = new Array<Buffer | undefined>(cap);
    this.mask = cap - 1;
  }

  private grow(): void {
    const old = this.items;
    const cap = old.length * 2;
    const next = new Array<Buffer | undefined>(cap);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = cap - 1;
  }

  pushBack(b: Buffer): void {
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) & this.mask] = b;
    this.length++;
  }

  pushFront(b: Buffer): void {
    if (this.length === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = b;
    this.length++;
  }

  popFront(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const b = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return b;
  }

  popBack(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const i = (this.head + this.length - 1) & this.mask;
    const b = this.items[i];
    this.items[i] = undefined;
    this.length--;
    return b;
  }

  /** Element i (0-based from the head); i must be in [0, length). */
  get(i: number): Buffer {
    return this.items[(this.head + i) & this.mask]!;
  }

  set(i: number, b: Buffer): void {
    this.items[(this.head + i) & this.mask] = b;
  }

  toArray(): Buffer[] {
    const out: Buffer[] = new Array<Buffer>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.get(i);
    return out;
  }

  /** Replaces the content (O(n) operations: LINSERT, LREM, LTRIM rebuild through this). */
  replaceAll(items: Buffer[]): void {
    let cap = 8;
    while (cap < items.length) cap *= 2;
    this.items = new Array<Buffer | undefined>(cap);
    for (let i = 0; i < items.length; i++) this.items[i] = items[i];
    this.head = 0;
    this.mask = cap - 1;
    this.length = items.length;
  }
}
