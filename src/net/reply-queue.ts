// Reply slots answered in request order: the mechanism a client connection (src/net/client-conn.ts)
// and an inbound peer connection (src/cluster/dnode-listener.ts) share. Each request takes the next
// sequence number; its reply may complete at any time (several datastore connections, peers), but
// replies leave in sequence order: an early reply waits in its slot until every earlier one is out.
//
//   seq:      headSeq                              nextSeq
//   slots:  [ PENDING | Buffer | PENDING | Buffer ]   (Fifo, slot i = seq headSeq + i)
//              ▲ complete(headSeq) writes at once, then advance() writes every answered slot
//                behind it; complete(other) copies the reply into its slot
//
// What "write" means belongs to the owner (plain bytes, or a dnode RES header first), and so does
// per-slot state kept in parallel rings (start times, msg ids): the owner drops its head entry in
// releaseHead(). The owner is one object implementing ReplyQueueOwner, so the hot path makes no
// closure or object per request; the only allocation is the copy of a reply that completes early.
import { Fifo } from './fifo.js';

/** The connection a ReplyQueue writes through. */
export interface ReplyQueueOwner {
  /** Writes the head slot's reply: len bytes of src at off (len 0: nothing to send, e.g. noreply). */
  writeReply(src: Uint8Array, off: number, len: number): void;
  /**
   * The head slot `seq` is written and about to leave the queue: drop per-slot state kept beside it.
   * Returning false stops the queue right there (the connection is closing after this reply).
   */
  releaseHead(seq: number): boolean;
  /** One or more replies were written (flush this turn, maybe resume reading). */
  repliesWritten(): void;
}

/** Marks a slot whose reply has not come yet. */
const PENDING = null;

export class ReplyQueue {
  /** Replies of slots headSeq, headSeq+1, ...: PENDING until answered. */
  private readonly replies = new Fifo<Buffer | null>(64);
  private head = 0;
  private next = 0;

  constructor(private readonly owner: ReplyQueueOwner) {}

  /** Unanswered slots. */
  get pending(): number {
    return this.next - this.head;
  }

  /** The sequence number the next open() returns. */
  get nextSeq(): number {
    return this.next;
  }

  /** Takes the next slot, unanswered; returns its sequence number. */
  open(): number {
    this.replies.push(PENDING);
    return this.next++;
  }

  /** Answers slot `seq` with len bytes of src at off (copied if it has to wait: src may be reused). */
  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    if (seq === this.head) {
      this.owner.writeReply(src, off, len);
      this.advance();
    } else {
      this.replies.set(seq - this.head, Buffer.from(src.subarray(off, off + len)));
    }
  }

  /** Answers slot `seq` with b (kept as is if it has to wait). */
  completeBuffer(seq: number, b: Buffer): void {
    if (seq === this.head) {
      this.owner.writeReply(b, 0, b.length);
      this.advance();
    } else {
      this.replies.set(seq - this.head, b);
    }
  }

  /** Drops every stored reply (the connection is gone). */
  clear(): void {
    this.replies.clear();
  }

  /** The head slot was written: move past it and write every answered slot after it. */
  private advance(): void {
    for (;;) {
      if (!this.owner.releaseHead(this.head)) return;
      this.replies.shift();
      this.head++;
      const next = this.replies.peek();
      if (next === PENDING || next === undefined) break;
      this.owner.writeReply(next, 0, next.length);
    }
    this.owner.repliesWritten();
  }
}
