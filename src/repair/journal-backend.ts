// The local datastore with its write journal: every write that reaches this node's datastore
// (a client's, a peer's over dnode, a hint replay, a repair) passes here and is recorded in the
// WriteJournal once the datastore answered it without an error.
//
//   ClusterDispatcher.local (BlockUnwrap) ─► JournalBackend.forward ─► inner Backend (ServerPool | MemoryBackend)
//        a write: its keys copied out (latin1 strings), ts = journal.stamp() now,
//        journal.record(key, ts, deleted, token) per key (the previous entries kept) ─► Pending (pooled)
//        reply an error, or a failure ─► journal.revertName per key ─► the caller's target
//   DYNO_TX blocks (BlockBackend.forwardBlock): every write inside the block, by the command table
//
// Decisions:
//   - Recorded when sent, undone when the datastore refuses it (an error reply, its connection
//     down: nothing changed, and the clock would make this replica look newer than it is). A write
//     in flight must already count: a hint replay arriving while the original write is still on
//     its way to redis (it timed out at the sender) must see it, or an INCR would count twice.
//     Writes on one datastore connection apply in the order they were sent, so their ts order is
//     their apply order.
//   - Deleting writes: DEL, UNLINK, GETDEL (every key), RENAME / RENAMENX (the source key), memcached
//     delete. Other ways a key disappears (a collection emptied by its last pop, EXPIRE in the past,
//     FLUSHALL) record no tombstone: see docs/consistency.md, limits.
//   - Reads pass straight through: no allocation, one flags test.
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratchHigh } from '../wasm/framer.js';
import { keyIndexes, loadCommandTable, type CommandTable } from '../wasm/commands.js';
import { MC_CMD } from '../wasm/memcache.js';
import { decodeMultibulk } from '../protocol/args.js';
import type { DynErrorCode } from '../errors.js';
import type { Backend, BlockBackend, FramedRequest, ReplyTarget } from '../dispatch/request.js';
import { BackendDecorator } from '../dispatch/backend-decorator.js';
import type { KeyClock, WriteJournal } from './write-journal.js';

/** How a write changes its keys: 0 = overwrite, 1 = deletes every key, 2 = deletes its first key. */
type DeleteKind = 0 | 1 | 2;

/** One write in flight to the datastore: its keys, recorded when the reply is not an error. */
class Pending implements ReplyTarget {
  target: ReplyTarget | undefined;
  /**
   * keys[0..n) and tokens[0..n): the arrays are reused across requests (a pooled Pending) and
   * never truncated, since `length = 0` frees their backing store and the next write allocates it
   * again (measured on the cluster write path: 1.8 us per write in `set length` and GC).
   */
  n = 0;
  readonly keys: string[] = [];
  readonly tokens: number[] = [];
  /** Per key: the entry this write recorded, and the one before it (restored if refused). */
  readonly mine: KeyClock[] = [];
  readonly prev: (KeyClock | undefined)[] = [];
  kind: DeleteKind = 0;
  ts = 0;
  /** ts is a hint's origin time (forwardAt), not this node's stamp. */
  hinted = false;

  constructor(private readonly jb: JournalBackend) {}

  get readsDigests(): boolean {
    return this.target?.readsDigests === true;
  }

  sentCopy(seq: number, bytes: Buffer): void {
    this.target?.sentCopy?.(seq, bytes);
  }

  complete(seq: number, src: Uint8Array, off: number, len: number, rec?: number): void {
    const t = this.target!;
    if (!this.jb.applied(src, off, len)) this.jb.revert(this);
    this.jb.release(this);
    t.complete(seq, src, off, len, rec);
  }

  completeBuffer(seq: number, b: Buffer): void {
    const t = this.target!;
    if (!this.jb.applied(b, 0, b.length)) this.jb.revert(this);
    this.jb.release(this);
    t.completeBuffer(seq, b);
  }

  fail(seq: number, code: DynErrorCode): void {
    const t = this.target!;
    this.jb.revert(this);
    this.jb.release(this);
    t.fail(seq, code);
  }
}

export class JournalBackend extends BackendDecorator {
  readonly blocks: BlockBackend | undefined;
  private readonly pool: Pending[] = [];
  private readonly table: CommandTable | undefined;
  private readonly deleting = new Map<number, DeleteKind>();

  constructor(
    inner: Backend,
    private readonly core: Core,
    readonly journal: WriteJournal,
    private readonly protocol: 'redis' | 'memcache',
  ) {
    super(inner);
    if (protocol === 'redis') {
      this.table = loadCommandTable(core);
      for (const [name, kind] of [['DEL', 1], ['UNLINK', 1], ['GETDEL', 1], ['RENAME', 2], ['RENAMENX', 2]] as const) {
        const id = this.table.byName(name)?.id;
        if (id !== undefined) this.deleting.set(id, kind);
      }
    } else {
      this.deleting.set(MC_CMD.DELETE, 1);
    }
    const b = inner.blocks;
    this.blocks = b === undefined ? undefined : {
      forwardBlock: (target, seq, block, affinity) => this.forwardBlock(b, target, seq, block, affinity),
      pin: (a) => b.pin(a),
      unpin: (a) => b.unpin(a),
      pinned: () => b.pinned(),
    };
  }

  forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    const i32 = this.core.i32;
    if ((i32[req.rec + ABI.REC_FLAGS]! & ABI.CF_WRITE) === 0) return this.inner.forward(target, seq, req, affinity);
    this.forwardAt(target, seq, req, affinity, this.journal.stamp(), false);
  }

  /**
   * Forwards a write whose version is `ts` (a hint's origin time; forward() stamps now), recording
   * its keys when the datastore applied it.
   */
  forwardAt(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, ts: number, hinted = true): void {
    const p = this.pool.pop() ?? new Pending(this);
    p.target = target;
    p.ts = ts;
    p.hinted = hinted;
    p.n = 0;
    if (req.src === undefined) this.keysOfRecord(req, p);
    else this.keysOfBytes(this.core.u8, req.off, req.len, p);
    if (p.n === 0) {
      this.release(p);
      return this.inner.forward(target, seq, req, affinity);
    }
    this.record(p);
    this.inner.forward(p, seq, req, affinity);
  }

  /** The keys of a request (RESP or memcached) in u8[off, off+len), for callers that check clocks first. */
  keysOf(u8: Uint8Array, off: number, len: number): { keys: string[]; tokens: number[]; kind: DeleteKind } {
    const p = new Pending(this);
    this.keysOfBytes(u8, off, len, p);
    return { keys: p.keys.slice(0, p.n), tokens: p.tokens.slice(0, p.n), kind: p.kind };
  }

  /** @internal The reply says the write happened (not an error; memcached noreply: nothing). */
  applied(src: Uint8Array, off: number, len: number): boolean {
    if (len === 0) return true;
    const c = src[off];
    if (this.protocol === 'redis') return c !== 45; // '-'
    // ERROR, CLIENT_ERROR, SERVER_ERROR
    return !(c === 69 && src[off + 1] === 82) && !(c === 67 && src[off + 1] === 76 && src[off + 6] === 95) && !(c === 83 && src[off + 1] === 69 && src[off + 6] === 95);
  }

  /** Records the write's keys now (before the datastore answers), keeping what each replaces. */
  private record(p: Pending): void {
    const j = this.journal;
    for (let i = 0; i < p.n; i++) {
      const k = p.keys[i]!;
      p.prev[i] = j.peekName(k);
      p.mine[i] = j.recordName(k, p.ts, p.kind === 1 || (p.kind === 2 && i === 0), p.tokens[i]!, p.hinted);
    }
  }

  /** @internal The datastore refused the write: its keys get their previous entries back. */
  revert(p: Pending): void {
    const j = this.journal;
    for (let i = p.n - 1; i >= 0; i--) j.revertName(p.keys[i]!, p.mine[i]!, p.prev[i]);
  }

  /** @internal */
  release(p: Pending): void {
    p.target = undefined;
    if (this.pool.length < 1024) this.pool.push(p);
  }

  /** Keys from the frame record (the request as framed: the hot path). */
  private keysOfRecord(req: FramedRequest, p: Pending): void {
    const core = this.core;
    const i32 = core.i32;
    const n = i32[req.rec + ABI.REC_NKEYS]!;
    p.kind = this.deleting.get(i32[req.rec + ABI.REC_CMD]!) ?? 0;
    const kb = core.keyPtr >> 2;
    const first = i32[req.rec + ABI.REC_KEY_FIRST]!;
    for (let k = 0; k < n; k++) {
      const e = kb + (first + k) * ABI.KEY_WORDS;
      const off = req.base + i32[e + ABI.KEY_OFF]!;
      p.keys[p.n] = core.buf.toString('latin1', off, off + i32[e + ABI.KEY_LEN]!);
      p.tokens[p.n++] = i32[e + ABI.KEY_TOKEN]! >>> 0;
    }
  }

  /** Keys of a request the record does not describe (a fragment, a block's request, a hint). */
  private keysOfBytes(u8: Uint8Array, off: number, len: number, p: Pending): void {
    let keys: Buffer[] = [];
    if (this.protocol === 'redis') {
      const args = decodeMultibulk(u8, off, len);
      const c = args.length > 0 ? this.table!.byName(args[0]!.toString('latin1')) : undefined;
      if (c === undefined || (c.flags & ABI.CF_WRITE) === 0) return;
      const numkeys = (c.flags & ABI.CF_SCRIPT) !== 0 ? Number(args[c.lastKey]?.toString('latin1')) : undefined;
      keys = keyIndexes(c, args.length, Number.isInteger(numkeys) ? numkeys : undefined).map((i) => args[i]!).filter((k) => k !== undefined);
      p.kind = this.deleting.get(c.id) ?? 0;
    } else {
      let end = off;
      while (end < off + len && u8[end] !== 10) end++;
      const words = Buffer.from(u8.subarray(off, end)).toString('latin1').trim().split(/ +/);
      const name = words[0]?.toLowerCase();
      if (name === undefined || name === 'get' || name === 'gets') return;
      // gat / gats <exptime> <key>...; every other write names one key first.
      const many = name === 'gat' || name === 'gats';
      keys = words.slice(many ? 2 : 1, many ? words.length : 2).filter((w) => w !== 'noreply').map((w) => Buffer.from(w, 'latin1'));
      p.kind = name === 'delete' ? 1 : 0;
    }
    for (const k of keys) {
      p.keys[p.n] = k.toString('latin1');
      p.tokens[p.n++] = this.tokenOf(k);
    }
  }

  /** The ring token of a key (hash and hash tag as configured), hashed in the core. */
  private tokenOf(key: Buffer): number {
    // The top of staging: the low scratch may hold the request being looked at (hint-apply.ts).
    const at = stagingScratchHigh(this.core, key.length);
    if (at < 0) return 0;
    this.core.u8.set(key, at);
    return this.core.exports.routingToken(at, key.length) >>> 0;
  }

  private forwardBlock(b: BlockBackend, target: ReplyTarget, seq: number, block: readonly Buffer[], affinity: number): void {
    const ts = this.journal.stamp();
    // Each request's keys; a block mixes deletes and overwrites, so commit per request below.
    const parts: { keys: string[]; tokens: number[]; kind: DeleteKind }[] = [];
    // Read from the block's own Buffers: staging may hold the DYNO_TX request still to be sent to peers.
    for (const r of block) {
      const k = this.keysOf(r, 0, r.length);
      if (k.keys.length > 0) parts.push(k);
    }
    if (parts.length === 0) return b.forwardBlock(target, seq, block, affinity);
    const journal = this.journal;
    b.forwardBlock({
      readsDigests: target.readsDigests,
      complete(s, src, off, len, rec) {
        // EXEC's reply: an array (applied), nil (a WATCH failed) or an error (aborted).
        if (len > 0 && src[off] === 42 /* '*' */ && !(len >= 4 && src[off + 1] === 45)) recordParts(journal, parts, ts);
        target.complete(s, src, off, len, rec);
      },
      completeBuffer(s, buf) {
        if (buf.length > 0 && buf[0] === 42 && !(buf.length >= 4 && buf[1] === 45)) recordParts(journal, parts, ts);
        target.completeBuffer(s, buf);
      },
      fail(s, code) {
        target.fail(s, code);
      },
    }, seq, block, affinity);
  }
}

function recordParts(j: WriteJournal, parts: readonly { keys: string[]; tokens: number[]; kind: DeleteKind }[], ts: number): void {
  for (const part of parts) {
    for (let i = 0; i < part.keys.length; i++) j.recordName(part.keys[i]!, ts, part.kind === 1 || (part.kind === 2 && i === 0), part.tokens[i]!);
  }
}
