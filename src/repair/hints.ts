// Hinted handoff (the side path of the chain in src/dispatch/request.ts): a write that could not reach a replica is kept as a hint and
// replayed, in order, once the replica is back. Hints never count toward a quorum: the fan-out still
// reports the replica as failed to its CoalesceTracker; a hint only makes the replica converge later.
//
//   Fanout.send (a write)
//     ├─ target skipped (peer down at plan time) ─► add(node, type, bytes)
//     └─ target sent ─► guard(fanout, ...) keeps the bytes until the peer answers (a copy when
//          short; when long, a reference to the peer link's own exact-size copy: Guard)
//          └─ fail(PEER_ERR_NOT_CONNECTED | _REFUSED | _TIMEOUT | _NO_REPLY) ─► hint (a datastore
//             error reply is a reply: the replica saw the write; _NO_REPLY: the peer answered later
//             requests of the link but skipped this one)
//
//   PeerHints (one per peer node): FIFO of { type 3|4, flags, arrival time, request bytes }
//     bounded by maxBytes over all peers (the oldest hint anywhere is dropped first) and by ttlMs
//     ──(peer link up: onPeerUp, or the 100 ms tick)──► replay from the head on link 0, at most
//     `window` in flight, `maxPerSecond` over the store (token bucket)
//          reply ─► delivered: removed      connection failure (or a `Storage:` / `Peer:`
//          error reply, RESP or memcached: the peer's datastore is down) ─► every in-flight hint goes back
//          to "not sent" (still at the head, in order); nothing is resent until the link comes
//          up again or 1 s passed
//
// Decisions:
//   - Single-target writes (ClusterDispatcher.single's fast path: a one-rack cluster) are not
//     hinted: the client gets the failure and no replica applied the write, so a hint would make a
//     write the client was told failed appear later. A replicated write is applied by the live
//     replicas whatever the client is told (consistency decides how many acknowledgements the
//     client waits for, never whether a replica is written), so its missing replicas are hinted.
//   - A hint keeps the time its write was FIRST sent (Guard: when the guard was made; add(): when
//     the write was planned), not when it became a hint: that time is its version.
//   - Replay to a dynomite-ts peer that announced `hint` (src/cluster/peer-caps.ts) is
//     conditional: the request travels as `DYNO_HINT <first sent ms> <request>` and the peer skips
//     it when its journal holds a write of a key at or after that time (src/repair/hint-apply.ts).
//     So a timed-out write the peer had applied is not applied twice, and a hint never overwrites
//     a newer value. While the peer's kind is unknown (the probe is in flight) nothing is replayed.
//   - Replay to any other peer (Netflix), of a DYNO_TX block, of a REQ_FORWARD, or in a memcached
//     cluster is unconditional: delivery is at-least-once (as for the durable log after a crash);
//     a non-idempotent write (INCR, APPEND) can then be applied twice on that replica.
//   - Replays go on the peer's link 0 (affinity 0) only: one connection answers in order, so the
//     peer's datastore applies the hints in the order they were taken.
//   - New writes reach a peer that is back at once, while its hints are still replaying: on an
//     unconditional replay a hint may overwrite a newer value of the same key. The window is the
//     replay time (pending / maxPerSecond).
//   - The local datastore (node 0) is never hinted: it is not a peer.
//   - maxBytes 0 turns hints off (no copies on the write path).
//   - Never on the client's path: replay runs from the link-up hook (deferred) and a timer; nothing
//     throws to a caller; I/O errors of the durable log are logged and counted as drops.
import type { Logger } from 'pino';
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import { OUT_CHUNK_BYTES } from '../net/out-buffer.js';
import { proxyErrorSource, type DynErrorCode } from '../errors.js';
import { PEER_SEND_WRITE, type Peer, type PeerRequestType, type ReplyTarget } from '../dispatch/request.js';
import { HintLog, hintFileName, type HintRecord } from './hint-log.js';
import { TokenBucket } from './rate-limit.js';
import { wrapHint, wrappable } from './hint-apply.js';

/**
 * How hints are replayed to a peer: 'versioned' (DYNO_HINT, the peer checks its journal),
 * 'plain' (the request as it was), 'unknown' (not yet known: wait).
 */
export type ReplayMode = 'versioned' | 'plain' | 'unknown';

/** Accounted per hint on top of its request bytes: the queue entry, its Buffer and slot (measured: ~190 B on Node 20). */
export const HINT_OVERHEAD_BYTES = 192;

export const DEFAULT_HINTS = {
  maxBytes: 64 * 1024 * 1024,
  ttlMs: 3 * 60 * 60 * 1000,
  maxPerSecond: 5000,
  window: 32,
  tickMs: 100,
  syncMs: 1000,
} as const;

/** Back off this long after a replay failed on a link that still looks up. */
const RETRY_MS = 1000;

/** The peer failures that mean "the replica did not answer": those writes are hinted. */
const HINTED_FAILURES: ReadonlySet<DynErrorCode> = new Set<DynErrorCode>(['PEER_ERR_NOT_CONNECTED', 'PEER_ERR_REFUSED', 'PEER_ERR_TIMEOUT', 'PEER_ERR_NO_REPLY']);

export interface HintStoreOptions {
  core: Core;
  /** The dnode link to node n (n >= 1). */
  peer: (node: number) => Peer | undefined;
  /** `host` and `port` of node n (durable file names); undefined for node 0. */
  peerAddress: (node: number) => { host: string; port: number } | undefined;
  /** Nodes in the topology (node 0 is this one). */
  nodes: number;
  /** Bytes of hints kept at most over all peers (request bytes + HINT_OVERHEAD_BYTES each); 0 = off. */
  maxBytes: number;
  /** A hint older than this is dropped, ms. */
  ttlMs: number;
  /** Durable hints: one append-only file per peer in this directory, loaded by start(). */
  dir?: string;
  /** Hints replayed per second at most, over all peers. @default 5000 */
  maxPerSecond?: number;
  /** Replayed hints in flight per peer at most. @default 32 */
  window?: number;
  logger?: Logger;
  /** Wall clock in ms (hint ages survive restarts). @default Date.now */
  now?: () => number;
  /** Replay / expiry tick, ms. @default 100 */
  tickMs?: number;
  /** fsync period of the durable files, ms. @default 1000 */
  syncMs?: number;
  /** Called when a replayed hint was delivered to node n. */
  onReplayed?(node: number): void;
  /**
   * A hint's version: the time its write was first sent, strictly increasing (two hints of one key
   * in the same millisecond keep their order at a conditional replay). @default now(), made strictly increasing
   */
  stamp?: () => number;
  /** How to replay to node n (peer caps). @default always 'plain' */
  replayMode?: (node: number) => ReplayMode;
}

/** What hinted handoff did since start (counters) and holds now (gauges). */
export interface HintCounts {
  stored: number;
  replayed: number;
  /** Dropped to stay within maxBytes (the oldest first), or bigger than maxBytes on their own. */
  droppedBytes: number;
  /** Dropped because they were older than ttlMs. */
  droppedTtl: number;
  /** Dropped for another reason: larger than the staging area, a durable-log write failed. */
  droppedOther: number;
  /** Guarded writes whose bytes the guard copied (the rest kept the peer link's own copy). */
  guardCopies: number;
}

interface Hint extends HintRecord {
  /** Replay attempt id while in flight, else 0. */
  sentAs: number;
}

/** One peer's queue; the ReplyTarget of its replays. */
class PeerHints implements ReplyTarget {
  readonly q: Hint[] = [];
  head = 0;
  /** Hints at the head that are in flight (always a prefix of the queue). */
  sent = 0;
  /** No replay before this time (after a failure); 0 = now. */
  retryAt = 0;
  log: HintLog | undefined;

  constructor(readonly node: number, private readonly store: HintStore) {}

  get length(): number {
    return this.q.length - this.head;
  }

  at(i: number): Hint {
    return this.q[this.head + i]!;
  }

  /** Removes the entry at queue position i (0 = head). */
  removeAt(i: number): Hint {
    const h = this.q[this.head + i]!;
    if (i === 0) {
      this.q[this.head++] = undefined as unknown as Hint;
      if (this.head > 1024 && this.head * 2 > this.q.length) {
        this.q.splice(0, this.head);
        this.head = 0;
      }
    } else {
      this.q.splice(this.head + i, 1);
    }
    if (i < this.sent) this.sent--;
    return h;
  }

  pending(): Hint[] {
    return this.q.slice(this.head);
  }

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    if (isUnavailableReply(src, off, len)) this.store.replayFailed(this, seq, 'PEER_ERR_REFUSED');
    else this.store.delivered(this, seq);
  }

  completeBuffer(seq: number, b: Buffer): void {
    this.complete(seq, b, 0, b.length);
  }

  fail(seq: number, code: DynErrorCode): void {
    this.store.replayFailed(this, seq, code);
  }
}

/**
 * The peer answered, but for its datastore (or, for a forward, its DC's replicas) being
 * unreachable (`-ERR Storage: ...` / `-ERR Peer: ...`, or their memcached `SERVER_ERROR` forms):
 * the write did not land, so the hint stays. Any other reply (OK, a datastore error such as
 * WRONGTYPE, a `Dynomite:` error about the request itself) means the replica saw the write.
 */
function isUnavailableReply(src: Uint8Array, off: number, len: number): boolean {
  const source = proxyErrorSource(src, off, len);
  return source === 'Storage' || source === 'Peer';
}

/**
 * Wraps the reply target of a write sent to a peer: a connection failure turns into a hint.
 *
 * The guard needs the request bytes only if the send fails. A short request is copied when the
 * guard is made. A long one (over OUT_CHUNK_BYTES) is not: the peer link writes it as one
 * exact-size Buffer that nothing reuses and hands that to sentCopy(), and the guard keeps the
 * reference. Until the send returns, the bytes are still at src[off, off+len) (a failure inside
 * send() copies them from there); sealGuard() copies them if no sender copy came.
 */
class Guard implements ReplyTarget {
  target: ReplyTarget | undefined;
  node = 0;
  type: PeerRequestType = ABI.DN_TYPE_REQ;
  flags = 0;
  /** When the write was sent (the hint's version). */
  at = 0;
  bytes: Buffer | undefined;
  /** The caller's bytes, valid only until the send returns (large requests, not yet copied). */
  src: Uint8Array | undefined;
  off = 0;
  len = 0;

  constructor(private readonly store: HintStore) {}

  sentCopy(_seq: number, bytes: Buffer): void {
    if (this.src !== undefined && bytes.length === this.len) {
      this.bytes = bytes;
      this.src = undefined;
    }
  }

  /** The request bytes, copied now if only the caller's view is held (inside the send). */
  take(): Buffer {
    if (this.bytes === undefined) this.seal();
    return this.bytes!;
  }

  seal(): void {
    const s = this.src;
    if (s === undefined) return;
    this.bytes = Buffer.from(s.subarray(this.off, this.off + this.len));
    this.src = undefined;
    this.store.counts.guardCopies++;
  }

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    const t = this.target!;
    this.store.releaseGuard(this);
    t.complete(seq, src, off, len);
  }

  completeBuffer(seq: number, b: Buffer): void {
    const t = this.target!;
    this.store.releaseGuard(this);
    t.completeBuffer(seq, b);
  }

  fail(seq: number, code: DynErrorCode): void {
    const t = this.target!;
    if (HINTED_FAILURES.has(code)) this.store.keep(this.node, this.type, this.flags, this.take(), this.at);
    this.store.releaseGuard(this);
    t.fail(seq, code);
  }
}

export class HintStore {
  readonly counts: HintCounts = { stored: 0, replayed: 0, droppedBytes: 0, droppedTtl: 0, droppedOther: 0, guardCopies: 0 };
  private readonly peers: (PeerHints | undefined)[] = [];
  private readonly bucket: TokenBucket;
  private readonly now: () => number;
  private lastStamp = 0;
  private readonly window: number;
  private readonly guards: Guard[] = [];
  private totalBytes = 0;
  private totalHints = 0;
  private nextSeq = 1;
  private timer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private stopped = false;
  private readonly toPump = new Set<PeerHints>();

  constructor(private readonly o: HintStoreOptions) {
    this.now = o.now ?? Date.now;
    this.window = Math.max(1, o.window ?? DEFAULT_HINTS.window);
    this.bucket = new TokenBucket({ ratePerSecond: o.maxPerSecond ?? DEFAULT_HINTS.maxPerSecond });
    for (let n = 0; n < o.nodes; n++) this.peers.push(n === 0 ? undefined : new PeerHints(n, this));
  }

  /** The origin time of a write sent now (see HintStoreOptions.stamp). */
  stamp(): number {
    if (this.o.stamp !== undefined) return this.o.stamp();
    const now = this.now();
    this.lastStamp = now > this.lastStamp ? now : this.lastStamp + 1 / 512;
    return this.lastStamp;
  }

  /** A node joined the ring (membership): hints may be kept for it from now on. */
  addNode(node: number): void {
    while (this.peers.length <= node) {
      const n = this.peers.length;
      const ph = n === 0 ? undefined : new PeerHints(n, this);
      this.peers.push(ph);
      if (ph && this.o.dir !== undefined && this.timer !== undefined) this.load(ph);
    }
  }

  /** Hints are taken at all (maxBytes > 0). */
  get enabled(): boolean {
    return this.o.maxBytes > 0;
  }

  /** Hints held now, over all peers. */
  get pending(): number {
    return this.totalHints;
  }

  /** Bytes accounted for the hints held now. */
  get pendingBytes(): number {
    return this.totalBytes;
  }

  /** Hints held for node n. */
  pendingFor(node: number): number {
    return this.peers[node]?.length ?? 0;
  }

  /** Loads the durable hints (when a directory is set) and starts the replay / expiry clock. */
  start(): void {
    if (this.o.dir !== undefined) {
      for (const ph of this.peers) if (ph) this.load(ph);
    }
    const tick = this.o.tickMs ?? DEFAULT_HINTS.tickMs;
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
    if (this.o.dir !== undefined) {
      this.syncTimer = setInterval(() => this.syncAll(), this.o.syncMs ?? DEFAULT_HINTS.syncMs);
      this.syncTimer.unref();
    }
  }

  /** Stops the clocks; durable files are fsync'd and closed (in-memory hints are lost). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.timer = this.syncTimer = undefined;
    for (const ph of this.peers) {
      if (!ph?.log) continue;
      try {
        ph.log.close();
      } catch (err) {
        this.o.logger?.warn({ err, file: ph.log.path }, 'hints: closing the hint file failed');
      }
    }
  }

  /**
   * A write for node n (type 3 REQ or 4 REQ_FORWARD) that was not delivered: keeps a copy of
   * u8[off, off+len). No-op for node 0, unknown nodes, or when hints are off.
   */
  add(node: number, type: PeerRequestType, u8: Uint8Array, off: number, len: number, flags: number): void {
    if (!this.enabled || !this.peers[node]) return;
    this.keep(node, type, flags, Buffer.from(u8.subarray(off, off + len)), this.stamp());
  }

  /**
   * The ReplyTarget to send a write to node n with: passes the reply or failure on to target, and
   * keeps a hint when the failure says the peer never answered. Copies u8[off, off+len) now (the
   * caller's bytes do not outlive the send). Returns target itself when hints are off.
   */
  guard(target: ReplyTarget, node: number, type: PeerRequestType, u8: Uint8Array, off: number, len: number, flags: number): ReplyTarget {
    if (!this.enabled || !this.peers[node]) return target;
    const g = this.guards.pop() ?? new Guard(this);
    g.target = target;
    g.node = node;
    g.type = type;
    g.flags = flags;
    g.at = this.stamp();
    if (len > OUT_CHUNK_BYTES) {
      g.bytes = undefined;
      g.src = u8;
      g.off = off;
      g.len = len;
    } else {
      g.bytes = Buffer.from(u8.subarray(off, off + len));
      g.src = undefined;
      this.counts.guardCopies++;
    }
    return g;
  }

  /**
   * Called right after the send that used guard() returned: a guard that got no sender copy
   * (an encrypted link, a sender without one) copies the bytes now, while they are still alive.
   */
  sealGuard(target: ReplyTarget): void {
    if (target instanceof Guard) target.seal();
  }

  /** A link to node n came up: replay its hints (deferred: never inside the caller's stack). */
  onPeerUp(node: number): void {
    const ph = this.peers[node];
    if (!ph || ph.length === 0) return;
    ph.retryAt = 0;
    this.schedulePump(ph);
  }

  /** @internal */
  releaseGuard(g: Guard): void {
    g.target = undefined;
    g.bytes = undefined;
    g.src = undefined;
    if (this.guards.length < 1024) this.guards.push(g);
  }

  /** @internal Queues a hint whose bytes the store owns from now on; `at`: when its write was first sent. */
  keep(node: number, type: PeerRequestType, flags: number, bytes: Buffer, at: number): void {
    const ph = this.peers[node];
    if (!ph || !this.enabled || this.stopped) return;
    const h: Hint = { type, flags, at, bytes, sentAs: 0 };
    if (!this.makeRoom(h.bytes.length + HINT_OVERHEAD_BYTES)) {
      this.counts.droppedBytes++;
      return;
    }
    if (ph.log || this.o.dir !== undefined) {
      try {
        ph.log ??= this.openLog(ph);
        ph.log?.append(h);
      } catch (err) {
        this.o.logger?.warn({ err, node }, 'hints: appending to the hint file failed; hint dropped');
        this.counts.droppedOther++;
        return;
      }
    }
    this.push(ph, h);
    this.counts.stored++;
    if (this.o.peer(node)?.up) this.schedulePump(ph);
  }

  /** @internal A replayed hint was answered: it is delivered. */
  delivered(ph: PeerHints, seq: number): void {
    const i = this.inFlight(ph, seq);
    if (i < 0) return; // dropped while in flight
    this.retire(ph, i);
    this.counts.replayed++;
    this.o.onReplayed?.(ph.node);
    if (ph.length > 0) this.schedulePump(ph);
  }

  /** @internal A replayed hint failed: everything in flight is sent again later, from the head. */
  replayFailed(ph: PeerHints, seq: number, code: DynErrorCode): void {
    const i = this.inFlight(ph, seq);
    if (i < 0) return;
    for (let k = 0; k < ph.sent; k++) ph.at(k).sentAs = 0;
    ph.sent = 0;
    ph.retryAt = this.now() + RETRY_MS;
    this.o.logger?.debug({ node: ph.node, code }, 'hints: replay interrupted');
  }

  /** Expires old hints and replays what can be (the timer calls it; exposed for tests). */
  tick(): void {
    const now = this.now();
    for (const ph of this.peers) {
      if (!ph) continue;
      this.expire(ph, now);
      if (ph.length > ph.sent) this.pump(ph);
      if (ph.log?.needsCompaction && ph.sent === 0) this.compact(ph);
    }
  }

  /** fsyncs every durable file with unsynced appends. */
  syncAll(): void {
    for (const ph of this.peers) {
      try {
        ph?.log?.sync();
      } catch (err) {
        this.o.logger?.warn({ err, file: ph?.log?.path }, 'hints: fsync failed');
      }
    }
  }

  private schedulePump(ph: PeerHints): void {
    this.toPump.add(ph);
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      for (const p of this.toPump) this.pump(p);
      this.toPump.clear();
    });
  }

  /** Sends the next hints of a peer whose link is up, within the window and the rate limit. */
  private pump(ph: PeerHints): void {
    const link = this.o.peer(ph.node);
    if (!link?.up) return;
    const mode = this.o.replayMode?.(ph.node) ?? 'plain';
    if (mode === 'unknown') return; // the caps probe answers soon; onPeerUp runs again then
    const now = this.now();
    if (ph.retryAt !== 0 && now < ph.retryAt) return;
    ph.retryAt = 0;
    this.expire(ph, now);
    const core = this.o.core;
    while (ph.length > ph.sent && ph.sent < this.window && ph.retryAt === 0) {
      const h = ph.at(ph.sent);
      const bytes = mode === 'versioned' && h.type === ABI.DN_TYPE_REQ && wrappable(h.bytes) ? wrapHint(h.at, h.bytes) : h.bytes;
      const at = stagingScratch(core, bytes.length);
      if (at < 0) {
        // Larger than the staging area: it can never be sent.
        this.retire(ph, ph.sent);
        this.counts.droppedOther++;
        continue;
      }
      if (!this.bucket.tryTake()) break;
      core.u8.set(bytes, at);
      h.sentAs = this.nextSeq++;
      ph.sent++;
      // A synchronous failure lands in replayFailed and sets retryAt: the loop stops.
      link.send(h.type, ph, h.sentAs, at, bytes.length, 0, h.flags | PEER_SEND_WRITE);
    }
  }

  /** Queue position of the in-flight hint sent as seq, -1 when none. */
  private inFlight(ph: PeerHints, seq: number): number {
    for (let k = 0; k < ph.sent; k++) if (ph.at(k).sentAs === seq) return k;
    return -1;
  }

  private push(ph: PeerHints, h: Hint): void {
    ph.q.push(h);
    this.totalBytes += h.bytes.length + HINT_OVERHEAD_BYTES;
    this.totalHints++;
  }

  /** Removes queue entry i of ph (delivered or dropped). */
  private retire(ph: PeerHints, i: number): void {
    const h = ph.removeAt(i);
    this.totalBytes -= h.bytes.length + HINT_OVERHEAD_BYTES;
    this.totalHints--;
    ph.log?.retire(h.bytes.length);
  }

  /** Drops the oldest hints (over all peers) until `need` more bytes fit; false when they never can. */
  private makeRoom(need: number): boolean {
    if (need > this.o.maxBytes) return false;
    while (this.totalBytes + need > this.o.maxBytes) {
      let oldest: PeerHints | undefined;
      for (const ph of this.peers) {
        if (ph && ph.length > 0 && (!oldest || ph.at(0).at < oldest.at(0).at)) oldest = ph;
      }
      if (!oldest) break;
      this.retire(oldest, 0);
      this.counts.droppedBytes++;
    }
    return true;
  }

  /** Drops expired hints from the head (the queue is in arrival order). */
  private expire(ph: PeerHints, now: number): void {
    const limit = now - this.o.ttlMs;
    while (ph.length > 0 && ph.at(0).at < limit) {
      this.retire(ph, 0);
      this.counts.droppedTtl++;
    }
  }

  private openLog(ph: PeerHints): HintLog | undefined {
    const addr = this.o.peerAddress(ph.node);
    if (this.o.dir === undefined || !addr) return undefined;
    return new HintLog(this.o.dir, hintFileName(addr.host, addr.port));
  }

  private load(ph: PeerHints): void {
    let log: HintLog | undefined;
    try {
      log = this.openLog(ph);
      if (!log) return;
      ph.log = log;
      const records = log.load();
      const now = this.now();
      for (const r of records) {
        const h: Hint = { ...r, sentAs: 0 };
        if (h.at < now - this.o.ttlMs) {
          this.counts.droppedTtl++;
          log.retire(h.bytes.length);
          continue;
        }
        if (!this.makeRoom(h.bytes.length + HINT_OVERHEAD_BYTES)) {
          this.counts.droppedBytes++;
          log.retire(h.bytes.length);
          continue;
        }
        this.push(ph, h);
      }
      if (records.length > 0) this.o.logger?.info({ node: ph.node, file: log.path, hints: ph.length }, 'hints: loaded');
    } catch (err) {
      this.o.logger?.warn({ err, node: ph.node }, 'hints: loading the hint file failed');
    }
  }

  private compact(ph: PeerHints): void {
    try {
      ph.log!.compact(ph.pending());
    } catch (err) {
      this.o.logger?.warn({ err, file: ph.log!.path }, 'hints: compacting the hint file failed');
    }
  }
}
