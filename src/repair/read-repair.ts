// Read repair (`read_repairs_enabled`; a side path of the chain in src/dispatch/request.ts):
// replicas that returned a divergent reply to a quorum read are rewritten with the state of a
// replica in the winning class.
//
//   Fanout.decide ─► onDivergence(req, divergent slots, winner)     the client is already answered
//        │  enabled, Redis, a key, no proxy error, key not already in repair, a token in the bucket
//        ▼  (otherwise: ignored, or counted as skipped)
//   repair(key, from, to) ─► queue ──setImmediate──► RepairTask.start()
//        fetch from `from` (a winning replica), pipelined on one link:   PTTL key ; GET|DUMP key
//        ▼
//   rewriteFor(key, mode, pttl, value) ─► on every node of `to`:
//        GET gave a string   ─► SET key value [PX ttl]
//        DUMP gave a payload ─► RESTORE key <ttl|0> payload REPLACE
//        key absent          ─► DEL key
//        GET gave WRONGTYPE  ─► fetch again with DUMP (the read was HGET, LINDEX ...)
//        ▼
//   every write answered ─► counts, onRepair(replicas rewritten)
//
// Decisions (Netflix repairs with the newest value by write timestamps kept in the datastore; we
// keep no timestamps, so the quorum's winner is the truth):
//   - The repair copies the winning replica's *state*, not the reply bytes: a reply (HGET, STRLEN,
//     HGETALL ...) rarely is the key's value. Strings read with a bulk reply take the SET path (GET
//     on the winner), every other read DUMP/RESTORE, which also covers strings on real Redis.
//   - A nil winner does not mean "delete": HGET of a missing field is nil while the hash exists.
//     The key is deleted on divergent replicas only when the winning replica's GET/DUMP says the
//     key is absent.
//   - PTTL is asked before the value on the same link (one datastore connection, in order): a key
//     that expires between the two reads comes back absent (DEL), never as a value without TTL.
//   - Replies that are proxy errors (`-ERR Storage:`, `-ERR Peer:`, `-ERR Dynomite:`) say nothing
//     about the data: such a winner, or such a divergent replica, is not repaired.
//   - Only the request's first key is repaired (multi-key reads: SUNION, SDIFF ... of one owner).
//   - Memcached has no TTL read-back nor DUMP: read repair is Redis only.
//   - Never on the client's path: work starts on setImmediate, errors are logged at debug and
//     counted, nothing throws, nothing waits.
import type { Logger } from 'pino';
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import { encodeMultibulk } from '../protocol/args.js';
import { bulkReply, integerReply } from '../protocol/replies.js';
import { isProxyErrorReply } from '../errors.js';
import type { DivergenceSink, FanoutRequest } from '../dispatch/fanout.js';
import type { DynErrorCode } from '../errors.js';
import { PEER_SEND_WRITE, type Backend, type FramedRequest, type Peer, type ReplyTarget } from '../dispatch/request.js';
import { TokenBucket } from './rate-limit.js';

export interface ReadRepairOptions {
  core: Core;
  /** The local datastore (node index 0). */
  local: Backend;
  /** The dnode link to node n (n >= 1). */
  peer: (node: number) => Peer | undefined;
  /** Read repair on (NodeControl.readRepairs, toggled by /read_repairs/enable|disable). */
  enabled: () => boolean;
  logger: Logger;
  /** Only Redis is repaired. @default 'redis' */
  protocol?: 'redis' | 'memcache';
  /** Keys repaired per second at most (token bucket, burst of one second); beyond: skipped. @default 100 */
  maxPerSecond?: number;
  /** Repairs queued or in flight at most; beyond: skipped. @default 256 */
  maxInflight?: number;
  /** Called when a key's divergent replicas were all rewritten, with how many were. */
  onRepair?(replicas: number): void;
  /** Monotonic clock in ms for the rate limit. @default performance.now */
  now?: () => number;
}

export const DEFAULT_READ_REPAIR = { maxPerSecond: 100, maxInflight: 256 } as const;

/** What read repair did since start (all counters). */
export interface ReadRepairCounts {
  /** Divergent quorum reads of a repairable key seen while enabled. */
  divergences: number;
  /** Keys whose divergent replicas were all rewritten. */
  repaired: number;
  /** Replica rewrites acknowledged (a key may need several). */
  replicas: number;
  /** Not attempted: over the rate limit, key already in repair, too many in flight. */
  skipped: number;
  /** Attempted and given up: a fetch or a rewrite failed, or did not fit in staging. */
  failed: number;
}

/** What to do once the winning replica answered PTTL and GET (mode 'get') or DUMP (mode 'dump'). */
export type Rewrite =
  | { readonly kind: 'write'; readonly args: readonly Buffer[] }
  | { readonly kind: 'dump' }
  | { readonly kind: 'error'; readonly why: string };

const SET = Buffer.from('SET');
const PX = Buffer.from('PX');
const DEL = Buffer.from('DEL');
const RESTORE = Buffer.from('RESTORE');
const REPLACE = Buffer.from('REPLACE');
const ZERO = Buffer.from('0');

/**
 * The rewrite for divergent replicas, from the winning replica's replies to `PTTL key` (asked
 * first) and `GET key` / `DUMP key`. A TTL is kept when PTTL gave a positive number of ms.
 */
export function rewriteFor(key: Buffer, mode: 'get' | 'dump', pttlReply: Buffer, valueReply: Buffer): Rewrite {
  const ttl = integerReply(pttlReply);
  if (ttl === undefined) return { kind: 'error', why: `PTTL: ${preview(pttlReply)}` };
  const value = bulkReply(valueReply);
  if (value === undefined) {
    if (mode === 'get' && valueReply.subarray(0, 10).toString('latin1') === '-WRONGTYPE') return { kind: 'dump' };
    return { kind: 'error', why: `${mode === 'get' ? 'GET' : 'DUMP'}: ${preview(valueReply)}` };
  }
  if (value === null) return { kind: 'write', args: [DEL, key] };
  const keepTtl = ttl > 0;
  if (mode === 'get') {
    return { kind: 'write', args: keepTtl ? [SET, key, value, PX, Buffer.from(String(ttl))] : [SET, key, value] };
  }
  return { kind: 'write', args: [RESTORE, key, keepTtl ? Buffer.from(String(ttl)) : ZERO, value, REPLACE] };
}

function preview(b: Buffer): string {
  return b.toString('latin1', 0, Math.min(b.length, 80)).replace(/\r\n$/, '');
}

/** Child seqs of a RepairTask: the two fetches, then one per divergent replica. */
const SEQ_TTL = 0;
const SEQ_VALUE = 1;
const SEQ_WRITE = 2;

export class ReadRepair implements DivergenceSink {
  readonly counts: ReadRepairCounts = { divergences: 0, repaired: 0, replicas: 0, skipped: 0, failed: 0 };
  private readonly bucket: TokenBucket;
  private readonly maxInflight: number;
  /** Keys queued or in repair (latin1 of the key bytes: a bijection). */
  private readonly inflight = new Map<string, RepairTask>();
  private readonly queue: RepairTask[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private nextId = 1;
  private stopped = false;

  constructor(private readonly o: ReadRepairOptions) {
    this.bucket = new TokenBucket({ ratePerSecond: o.maxPerSecond ?? DEFAULT_READ_REPAIR.maxPerSecond, now: o.now });
    this.maxInflight = o.maxInflight ?? DEFAULT_READ_REPAIR.maxInflight;
  }

  /** Changes the rate limit; the bucket starts full. */
  setMaxPerSecond(n: number): void {
    this.bucket.configure(n);
  }

  /** Repairs queued or in flight. */
  get pending(): number {
    return this.inflight.size;
  }

  /** DivergenceSink: picks the winning replica and the divergent ones to rewrite, then repair(). */
  onDivergence(req: FanoutRequest, divergent: readonly number[], winner: Buffer | undefined): void {
    const key = req.key;
    if (key === undefined || req.isWrite || this.stopped || (this.o.protocol ?? 'redis') !== 'redis' || !this.o.enabled()) return;
    const d = req.tracker.decision;
    if (!d || !d.ok || d.winnerTarget < 0 || (winner !== undefined && isProxyErrorReply(winner, 0, winner.length))) return;
    const from = req.slotNode[d.winnerTarget]!;
    const to: number[] = [];
    for (const s of divergent) {
      const reply = req.held[s];
      if (reply !== undefined && isProxyErrorReply(reply, 0, reply.length)) continue;
      const node = req.slotNode[s];
      if (node !== undefined && node !== from && !to.includes(node)) to.push(node);
    }
    if (to.length === 0) return;
    this.counts.divergences++;
    this.repair(key, from, to, winner);
  }

  /**
   * Rewrites `key` on the nodes of `to` with its state on node `from` (0 = the local datastore),
   * soon (setImmediate). `winner` is the read's winning reply: a bulk string tries GET before DUMP.
   * Returns false (counted as skipped) over the rate limit, with the key already in repair, or
   * with maxInflight repairs pending.
   */
  repair(key: Buffer, from: number, to: readonly number[], winner?: Buffer): boolean {
    if (this.stopped) return false;
    const name = key.toString('latin1');
    if (this.inflight.has(name) || this.inflight.size >= this.maxInflight || !this.bucket.tryTake()) {
      this.counts.skipped++;
      return false;
    }
    const mode = winner !== undefined && bulkReply(winner) instanceof Buffer ? 'get' : 'dump';
    const task = new RepairTask(this, this.nextId++, name, key, from, [...to], mode);
    this.inflight.set(name, task);
    this.queue.push(task);
    this.immediate ??= setImmediate(() => this.drain());
    return true;
  }

  /** Drops queued repairs; repairs in flight finish (or fail) on their own. */
  stop(): void {
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    for (const t of this.queue) this.inflight.delete(t.name);
    this.queue.length = 0;
  }

  private drain(): void {
    this.immediate = undefined;
    const tasks = this.queue.splice(0);
    for (const t of tasks) t.start();
  }

  /**
   * Sends one built request to node `node`: the bytes go to core memory just past what is being
   * dispatched right now (stagingScratch), and every target copies them before returning.
   * @internal
   */
  send(node: number, target: ReplyTarget, seq: number, args: readonly Buffer[], isWrite: boolean, affinity: number): void {
    const core = this.o.core;
    const bytes = encodeMultibulk(args);
    const at = stagingScratch(core, bytes.length);
    if (at < 0) return target.fail(seq, 'DYN_ERR_PAYLOAD_TOO_LARGE');
    core.u8.set(bytes, at);
    if (node === 0) {
      const req: FramedRequest = { off: at, len: bytes.length, rec: 0, base: at, expectReply: true, inline: false, src: 'built' };
      return this.o.local.forward(target, seq, req, affinity);
    }
    const link = this.o.peer(node);
    if (!link) return target.fail(seq, 'PEER_ERR_NOT_CONNECTED');
    link.send(ABI.DN_TYPE_REQ, target, seq, at, bytes.length, affinity, isWrite ? PEER_SEND_WRITE : 0);
  }

  /** @internal A task ended: `replicas` rewritten, `why` set when it failed. */
  done(task: RepairTask, replicas: number, why: string | undefined): void {
    this.inflight.delete(task.name);
    this.counts.replicas += replicas;
    if (why === undefined) {
      this.counts.repaired++;
      this.o.onRepair?.(replicas);
      return;
    }
    this.counts.failed++;
    this.o.logger.debug({ key: task.name.slice(0, 128), from: task.from, to: task.to, why }, 'read repair failed');
  }
}

/** One key's repair: fetch from the winning replica, then rewrite every divergent one. */
class RepairTask implements ReplyTarget {
  private ttlReply: Buffer | undefined;
  private valueReply: Buffer | undefined;
  private fetching = 0;
  private writing = 0;
  private written = 0;
  private writeError: string | undefined;
  private finished = false;

  constructor(
    private readonly owner: ReadRepair,
    private readonly id: number,
    readonly name: string,
    private readonly key: Buffer,
    readonly from: number,
    readonly to: readonly number[],
    private mode: 'get' | 'dump',
  ) {}

  start(): void {
    this.fetch(this.mode);
  }

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    this.onReply(seq, Buffer.from(src.subarray(off, off + len)));
  }

  completeBuffer(seq: number, b: Buffer): void {
    this.onReply(seq, b);
  }

  fail(seq: number, code: DynErrorCode): void {
    if (seq >= SEQ_WRITE) return this.onWritten(code);
    this.finish(`fetch from node ${this.from}: ${code}`);
  }

  /** PTTL first, then the value, on one link (same affinity): the datastore runs them in order. */
  private fetch(mode: 'get' | 'dump'): void {
    this.mode = mode;
    this.ttlReply = undefined;
    this.valueReply = undefined;
    this.fetching = 2;
    this.owner.send(this.from, this, SEQ_TTL, [Buffer.from('PTTL'), this.key], false, this.id);
    if (this.finished) return; // failed synchronously
    this.owner.send(this.from, this, SEQ_VALUE, [Buffer.from(mode === 'get' ? 'GET' : 'DUMP'), this.key], false, this.id);
  }

  private onReply(seq: number, b: Buffer): void {
    if (this.finished) return;
    if (seq >= SEQ_WRITE) return this.onWritten(b[0] === 45 ? preview(b) : undefined);
    if (seq === SEQ_TTL) this.ttlReply = b;
    else this.valueReply = b;
    if (--this.fetching > 0) return;
    const r = rewriteFor(this.key, this.mode, this.ttlReply!, this.valueReply!);
    if (r.kind === 'dump') return this.fetch('dump');
    if (r.kind === 'error') return this.finish(`fetch from node ${this.from}: ${r.why}`);
    this.rewrite(r.args);
  }

  /** Sends the rewrite to every divergent replica; all are counted before the first send. */
  private rewrite(args: readonly Buffer[]): void {
    this.writing = this.to.length;
    for (let i = 0; i < this.to.length; i++) this.owner.send(this.to[i]!, this, SEQ_WRITE + i, args, true, this.id);
  }

  private onWritten(error: string | undefined): void {
    if (this.finished) return;
    if (error === undefined) this.written++;
    else this.writeError ??= error;
    if (--this.writing === 0) this.finish(this.writeError === undefined ? undefined : `rewrite: ${this.writeError}`);
  }

  private finish(why: string | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.owner.done(this, this.written, why);
  }
}
