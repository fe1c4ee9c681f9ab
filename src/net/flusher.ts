// Writes are batched per event-loop turn: anything that queued bytes during this turn registers
// here, and one setImmediate (after every socket read of the poll phase) flushes them all. This is
// the cork/uncork of the design: one write syscall per socket per turn, across all clients.

export interface Flushable {
  /** Set by the flusher while registered, so a connection registers once per turn. */
  flushQueued: boolean;
  flush(): void;
}

export class Flusher {
  private dirty: Flushable[] = [];
  private other: Flushable[] = [];
  private scheduled = false;
  private readonly run = (): void => this.flushAll();

  /** Registers c to be flushed at the end of this turn. */
  mark(c: Flushable): void {
    if (c.flushQueued) return;
    c.flushQueued = true;
    this.dirty.push(c);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  flushAll(): void {
    this.scheduled = false;
    // Flushing a client can complete nothing new, but flushing may mark more (e.g. a server reply
    // path run synchronously): loop until quiet, swapping arrays instead of allocating.
    while (this.dirty.length > 0) {
      const list = this.dirty;
      this.dirty = this.other;
      this.other = list;
      for (let i = 0; i < list.length; i++) {
        const c = list[i];
        c.flushQueued = false;
        c.flush();
      }
      list.length = 0;
    }
  }
}
