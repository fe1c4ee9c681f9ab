// Anti-entropy (Merkle-style, per token range): replicas that diverged converge without a client
// reading them. A pass, on the node that starts it:
//
//   segmentsToStart (ae-ranges.ts): this node's ranges x the nodes of every rack it starts with
//   takeSnapshot (ae-snapshot.ts): SCAN + PTTL/DUMP of the local datastore, digests in WASM
//   per segment, with its peer (ae-wire.ts, over the dnode link):
//     BEGIN ─► the peer snapshots its own datastore (polled until ready)
//     TREE lo hi F ─► F child digests; compared with ours, descend only into children that differ
//       └─ a child with few keys (<= LEAF_KEYS) or a narrow range ─► KEYS lo hi: per key digest,
//          expire-at, journal clock (tombstones too) ─► per differing key: decide(ours, theirs)
//            ours wins   ─► PTTL/DUMP here now ─► APPLY on the peer (conditional there)
//            theirs wins ─► FETCH from the peer ─► RESTORE | DEL here (conditional here)
//     END ─► the peer drops its snapshot
//
// Conditional apply: a repair is skipped when the receiver's journal shows a write to that key
// after the receiver's snapshot read it (anti-entropy never overwrites a newer client write), and
// an applied repair is recorded in the journal with the winner's clock. Values compare by digest;
// expire-at with a tolerance (TTL_TOLERANCE_MS: replicas apply a TTL milliseconds apart).
// Everything is paced by one rate limit (keys/s, snapshot reads and repairs alike) so the request
// path keeps its throughput; a pass never runs twice at once on a node.
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import type { Backend, FramedRequest, Peer, ReplyTarget } from '../dispatch/request.js';
import type { Topology } from '../route/topology.js';
import { integerReply, bulkReply, REPLY_OK } from '../protocol/replies.js';
import { respErrorText } from '../errors.js';
import { EXPIRE_TOLERANCE_MS } from './version-rule.js';
import { call, type CallContext } from './ae-calls.js';
import { digestBatch, emptySnapshot, preview, takeSnapshot, type Snapshot } from './ae-snapshot.js';
import { children, decodeLevel, encodeLevel, slice, valueHash, childRange } from './ae-tree.js';
import { segmentsToStart, type Segment } from './ae-ranges.js';
import { bulk, bulkArray, carried, carrier, decodeKeys, encodeKeyEntry, readBulk, readBulks, type RemoteKey } from './ae-wire.js';
import { AE_CAPABILITY, type AeClock, type AeDecide, type AeJournal, type AeKeyState, type AePeerCaps } from './ae-deps.js';

/** anti_entropy_interval's default: one pass per hour (see the config key). */
export const DEFAULT_AE_INTERVAL_MS = 3_600_000;
/** anti_entropy_rate's default, keys/s read or repaired. */
export const DEFAULT_AE_RATE = 20_000;
/** Children per tree node. */
export const FANOUT = 16;
/** A differing child with at most this many keys on either side is compared key by key. */
export const LEAF_KEYS = 64;
/** Expire-at values closer than this are equal: the version rule's own tolerance. */
export const TTL_TOLERANCE_MS = EXPIRE_TOLERANCE_MS;
/** A peer's snapshot is dropped this long after its last use (a pass that died midway). */
const PEER_SNAPSHOT_IDLE_MS = 120_000;
const POLL_MS = 50;

export interface AntiEntropyOptions {
  readonly core: Core;
  readonly local: Backend;
  readonly peer: (node: number) => Peer | undefined;
  readonly topology: () => Topology;
  /** HASH_* id of the node's hash. */
  readonly algo: number;
  readonly protocol: 'redis' | 'memcache';
  readonly log: Logger;
  readonly decide: AeDecide;
  readonly journal?: AeJournal;
  readonly caps?: AePeerCaps;
  /** ms between passes; 0 = only by hand. */
  readonly intervalMs: number;
  /** keys/s (reads and repairs); Infinity = unpaced. */
  readonly ratePerSecond: number;
  /** This node's name in logs and pass ids. */
  readonly name: string;
  /** A pass finished (the embedding API's 'antiEntropy' event). */
  readonly onPass?: (s: PassReport) => void;
  /**
   * Whether the node state lets a read (false) or a write (true) reach the datastore: a node in
   * STANDBY neither starts passes nor serves them; WRITES_ONLY / RESUMING serve no snapshots.
   */
  readonly admits?: (isWrite: boolean) => boolean;
}

export interface PassReport {
  started: string;
  finished: string | null;
  durationMs: number | null;
  percentDone: number;
  ranges: number;
  rangesCompared: number;
  keysCompared: number;
  keysDiffering: number;
  keysRepaired: number;
  repairsSkipped: number;
  bytesExchanged: number;
  snapshotBytes: number;
  localKeys: number;
  peersSkipped: { peer: string; reason: string }[];
  errors: string[];
  unsupported: string | null;
}

export interface AntiEntropyStatus {
  running: boolean;
  percentDone: number;
  intervalMs: number;
  ratePerSecond: number | null;
  passes: number;
  lastPass: PassReport | null;
  totals: { keysCompared: number; keysRepaired: number; bytesExchanged: number };
}

interface PeerSnapshot {
  snap: Snapshot | undefined;
  error: string | undefined;
  read: number;
  lastUse: number;
}

export class AntiEntropy {
  private running: PassReport | undefined;
  private last: PassReport | undefined;
  private passes = 0;
  private readonly totals = { keysCompared: 0, keysRepaired: 0, bytesExchanged: 0 };
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;
  private nextFree = 0;
  private readonly peerSnaps = new Map<string, PeerSnapshot>();
  private readonly ctx: CallContext;

  constructor(private readonly o: AntiEntropyOptions) {
    this.ctx = { core: o.core, local: o.local, peer: o.peer };
  }

  start(): void {
    if (this.o.intervalMs > 0) {
      this.timer = setInterval(() => this.run('interval'), this.o.intervalMs);
      this.timer.unref();
    }
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.sweeper);
    this.peerSnaps.clear();
  }

  status(): AntiEntropyStatus {
    const r = this.running;
    return {
      running: r !== undefined,
      percentDone: (r ?? this.last)?.percentDone ?? 0,
      intervalMs: this.o.intervalMs,
      ratePerSecond: Number.isFinite(this.o.ratePerSecond) ? this.o.ratePerSecond : null,
      passes: this.passes,
      lastPass: r ?? this.last ?? null,
      totals: { ...this.totals },
    };
  }

  /** Starts a pass unless one runs; the report of the pass that runs now. */
  run(why: 'interval' | 'manual'): { started: boolean; pass: PassReport } {
    if (this.running) return { started: false, pass: this.running };
    const pass = newReport();
    this.running = pass;
    this.passes++;
    this.o.log.info({ why }, 'anti-entropy: pass started');
    void this.pass(pass).catch((err: Error) => pass.errors.push(err.message)).finally(() => {
      pass.finished = new Date().toISOString();
      pass.durationMs = Date.parse(pass.finished) - Date.parse(pass.started);
      if (pass.errors.length === 0 && pass.unsupported === null) pass.percentDone = 100;
      this.totals.keysCompared += pass.keysCompared;
      this.totals.keysRepaired += pass.keysRepaired;
      this.totals.bytesExchanged += pass.bytesExchanged;
      this.running = undefined;
      this.last = pass;
      const line = { ranges: pass.ranges, keysCompared: pass.keysCompared, keysRepaired: pass.keysRepaired, repairsSkipped: pass.repairsSkipped,
        bytesExchanged: pass.bytesExchanged, durationMs: pass.durationMs, percentDone: pass.percentDone, errors: pass.errors };
      if (pass.errors.length > 0) this.o.log.warn(line, 'anti-entropy: pass finished with errors');
      else this.o.log.info(line, 'anti-entropy: pass finished');
      this.o.onPass?.(pass);
    });
    return { started: true, pass };
  }

  /** Waits until n more keys fit the rate limit. */
  private async pace(n: number): Promise<void> {
    const rate = this.o.ratePerSecond;
    if (!Number.isFinite(rate) || rate <= 0) return;
    const now = performance.now();
    const at = Math.max(now, this.nextFree);
    this.nextFree = at + (n * 1000) / rate;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }

  private async pass(pass: PassReport): Promise<void> {
    if (this.o.admits !== undefined && !(this.o.admits(false) && this.o.admits(true))) {
      throw new Error("this node's state does not allow anti-entropy (it reads and writes the datastore)");
    }
    if (this.o.protocol === 'memcache') {
      pass.unsupported = 'memcached datastores have no SCAN / DUMP / PTTL to snapshot and restore from: anti-entropy is unsupported for them';
      this.o.log.warn({ reason: pass.unsupported }, 'anti-entropy: pass skipped');
      return;
    }
    const topo = this.o.topology();
    const all = segmentsToStart(topo);
    const segments: Segment[] = [];
    const skipped = new Set<number>();
    for (const s of all) {
      const why = this.peerRefusal(s.peer);
      if (why === undefined) segments.push(s);
      else if (!skipped.has(s.peer)) {
        skipped.add(s.peer);
        const name = nodeName(topo, s.peer);
        pass.peersSkipped.push({ peer: name, reason: why });
        this.o.log.warn({ peer: name, reason: why }, 'anti-entropy: peer skipped');
      }
    }
    pass.ranges = segments.length;
    const units = 1 + segments.length;
    const dbsize = integerReply((await call(this.ctx, 0, [[Buffer.from('DBSIZE')]], 'DBSIZE on the local datastore'))[0]!) ?? 0;
    let lastLogged = -1;
    const progress = (p: number): void => {
      pass.percentDone = Math.min(99, Math.floor(p * 100));
      if (pass.percentDone >= lastLogged + 10) {
        lastLogged = pass.percentDone;
        this.o.log.info({ percentDone: pass.percentDone, keysCompared: pass.keysCompared, keysRepaired: pass.keysRepaired }, 'anti-entropy: progress');
      }
    };
    const mine = segments.length === 0 ? emptySnapshot() : await takeSnapshot(this.ctx, {
      algo: this.o.algo,
      pace: (n) => this.pace(n),
      progress: (k) => progress(Math.min(1, dbsize > 0 ? k / dbsize : 1) / units),
      cancelled: () => this.stopped,
    });
    pass.localKeys = mine.keys.length;
    pass.snapshotBytes = mine.bytes;
    const id = `${this.o.name}:${this.passes}:${Date.now()}`;
    const begun = new Set<number>();
    try {
      for (let i = 0; i < segments.length; i++) {
        if (this.stopped) throw new Error('anti-entropy pass cancelled: the node is stopping');
        const seg = segments[i]!;
        try {
          if (!begun.has(seg.peer)) {
            begun.add(seg.peer);
            await this.beginOnPeer(seg.peer, id, pass);
          }
          await this.compare(mine, seg.peer, id, seg.lo, seg.hi, pass);
          pass.rangesCompared++;
        } catch (err) {
          const msg = `range [${seg.lo}, ${seg.hi}] with ${nodeName(topo, seg.peer)}: ${(err as Error).message}`;
          pass.errors.push(msg);
          this.o.log.warn({ err: msg }, 'anti-entropy: range failed');
        }
        progress((i + 2) / units);
      }
    } finally {
      for (const p of begun) await this.peerCall(p, carrier('END', [id]), pass).catch(() => undefined);
    }
  }

  private peerRefusal(peer: number): string | undefined {
    const link = this.o.peer(peer);
    if (link === undefined || !link.up) return 'peer is not connected';
    const caps = this.o.caps;
    if (caps === undefined) return undefined;
    const kind = caps.of(peer);
    if (kind === 'other') return 'peer is not dynomite-ts (it does not answer the anti-entropy commands; a Netflix dynomite closes the link on unknown commands)';
    if (kind === 'unknown') return 'peer capabilities not known yet (its capability probe has not answered)';
    if (!caps.has(peer, AE_CAPABILITY)) return `peer is dynomite-ts without the '${AE_CAPABILITY}' capability (an older build)`;
    return undefined;
  }

  private async peerCall(peer: number, args: Buffer[], pass: PassReport, isWrite = false): Promise<Buffer> {
    const bytes = { n: 0 };
    try {
      const [r] = await call(this.ctx, peer, [args], `anti-entropy ${args[2]!.toString()} on node ${peer}`, bytes, isWrite);
      if (r![0] === 45) throw new Error(`peer answered ${preview(r!)}`);
      return r!;
    } finally {
      // The reply's bytes are added when the promise settles, before this runs.
      await Promise.resolve();
      pass.bytesExchanged += bytes.n;
    }
  }

  private async beginOnPeer(peer: number, id: string, pass: PassReport): Promise<void> {
    for (;;) {
      const [state, read] = readBulks(await this.peerCall(peer, carrier('BEGIN', [id]), pass), 'BEGIN');
      const s = state?.toString() ?? '';
      if (s === 'ready') return;
      if (s !== 'reading') throw new Error(`peer snapshot: ${s} (${read?.toString() ?? 0} keys read)`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Compares the children of [lo, hi] and descends into those that differ. */
  private async compare(mine: Snapshot, peer: number, id: string, lo: number, hi: number, pass: PassReport): Promise<void> {
    const width = hi - lo + 1;
    const [from, to] = slice(mine, lo, hi);
    if (width <= FANOUT) return this.compareKeys(mine, peer, id, lo, hi, pass);
    const theirs = decodeLevel(readBulk(await this.peerCall(peer, carrier('TREE', [id, lo, hi, FANOUT]), pass), 'TREE'), FANOUT);
    const ours = to - from > 0 ? children(mine, lo, hi, FANOUT) : children(emptySnapshot(), lo, hi, FANOUT);
    for (let j = 0; j < FANOUT; j++) {
      if (ours.count[j] === theirs.count[j] && ours.lo[j] === theirs.lo[j] && ours.hi[j] === theirs.hi[j]) {
        pass.keysCompared += ours.count[j]!;
        continue;
      }
      const [a, b] = childRange(lo, hi, FANOUT, j);
      if (Math.max(ours.count[j]!, theirs.count[j]!) <= LEAF_KEYS) await this.compareKeys(mine, peer, id, a, b, pass);
      else await this.compare(mine, peer, id, a, b, pass);
    }
  }

  private async compareKeys(mine: Snapshot, peer: number, id: string, lo: number, hi: number, pass: PassReport): Promise<void> {
    const theirs = decodeKeys(readBulks(await this.peerCall(peer, carrier('KEYS', [id, lo, hi]), pass), 'KEYS'));
    const local = new Map<string, AeKeyState & { readAt: number }>();
    const [from, to] = slice(mine, lo, hi);
    const j = this.o.journal;
    for (let i = from; i < to; i++) {
      local.set(mine.keys[i]!.toString('latin1'), {
        present: true, valueHash: valueHash(mine, i), expireAtMs: mine.expireAt[i]!, clock: j?.lookup(mine.keys[i]!),
        floorMs: j?.floorFor(mine.keys[i]!), readAt: mine.readAt[i]!,
      });
    }
    // A key absent here is looked up in the journal below (its tombstone, if any); the peer's
    // tombstones come in its KEYS answer.
    const remote = new Map<string, RemoteKey>();
    for (const r of theirs) remote.set(r.key.toString('latin1'), r);
    const names = new Set([...local.keys(), ...remote.keys()]);
    for (const name of names) {
      pass.keysCompared++;
      const key = Buffer.from(name, 'latin1');
      const a: AeKeyState & { readAt?: number } = local.get(name)
        ?? { present: false, valueHash: 0n, expireAtMs: 0, clock: j?.lookup(key), floorMs: j?.floorFor(key), readAt: mine.startedAt };
      const r = remote.get(name);
      const b: AeKeyState = r ?? { present: false, valueHash: 0n, expireAtMs: 0 };
      if (equalStates(a, b)) continue;
      pass.keysDiffering++;
      // Written on either side since its snapshot read it: the snapshot's value is stale and the
      // write itself is on its way to the replicas; this pass leaves the key alone.
      if ((a.clock !== undefined && a.clock.ts > (a.readAt ?? mine.startedAt)) || r?.writtenSinceRead === true) {
        pass.repairsSkipped++;
        continue;
      }
      const winner = this.o.decide(a, b);
      if (winner === 'same') continue;
      await this.pace(1);
      if (winner === 'a') await this.push(peer, id, key, a.clock, pass);
      else await this.pull(peer, key, b, a.readAt ?? mine.startedAt, pass);
    }
  }

  /** Ours wins: read it now and APPLY it on the peer. */
  private async push(peer: number, id: string, key: Buffer, clock: AeClock | undefined, pass: PassReport): Promise<void> {
    const [ttl, dump] = await call(this.ctx, 0, [[Buffer.from('PTTL'), key], [Buffer.from('DUMP'), key]], 'PTTL/DUMP on the local datastore');
    const value = bulkReply(dump!);
    const pttl = integerReply(ttl!);
    if (value === undefined || pttl === undefined) throw new Error(`local PTTL/DUMP answered ${preview(ttl!)} / ${preview(dump!)}`);
    const del = value === null || pttl === -2;
    const reply = await this.peerCall(peer, carrier('APPLY', [id, key, del ? -2 : pttl, del ? Buffer.alloc(0) : value,
      del ? 1 : 0, clock === undefined ? '' : clock.ts, clock?.token ?? 0]), pass, true);
    this.counted(reply.toString('latin1').startsWith('+OK'), pass);
  }

  /** Theirs wins: FETCH it from the peer and apply it here. */
  private async pull(peer: number, key: Buffer, theirs: AeKeyState, readAt: number, pass: PassReport): Promise<void> {
    const [ttl, value] = readBulks(await this.peerCall(peer, carrier('FETCH', [key]), pass), 'FETCH');
    const pttl = Number(ttl?.toString() ?? '-2');
    const del = value === null || pttl === -2;
    const res = await this.applyLocal(key, del, pttl, value ?? Buffer.alloc(0), theirs.clock, readAt);
    this.counted(res === undefined, pass);
  }

  private counted(applied: boolean, pass: PassReport): void {
    if (applied) pass.keysRepaired++;
    else pass.repairsSkipped++;
  }

  /**
   * RESTORE (or DEL) on the local datastore unless the journal saw a write to the key after
   * `readAt` (when this node's snapshot read it). Undefined when applied, else why not.
   */
  private async applyLocal(key: Buffer, del: boolean, pttl: number, dump: Buffer, clock: AeClock | undefined, readAt: number): Promise<string | undefined> {
    const seen = this.o.journal?.lookup(key);
    if (seen !== undefined && seen.ts > readAt) return `a newer write (${seen.ts} > ${readAt})`;
    const cmd = del ? [Buffer.from('DEL'), key]
      : [Buffer.from('RESTORE'), key, Buffer.from(String(pttl > 0 ? pttl : 0)), dump, Buffer.from('REPLACE')];
    const [r] = await call(this.ctx, 0, [cmd], `${del ? 'DEL' : 'RESTORE'} on the local datastore`, undefined, true);
    if (r![0] === 45) throw new Error(`${del ? 'DEL' : 'RESTORE'} ${preview(key)} answered ${preview(r!)}`);
    // Recorded with the winner's clock when it had one, so the replicas now agree on the version too.
    this.o.journal?.record(key, clock?.ts ?? this.o.journal.stamp(), del, clock?.token ?? keyTokenOf(this.o.core, this.o.algo, key));
    return undefined;
  }

  // ---- the answering side (requests from the node that starts the exchange) ----

  /** True when req is an anti-entropy carrier (answered, now or later); false for any other request. */
  onPeerRequest(target: ReplyTarget, seq: number, req: FramedRequest): boolean {
    const c = carried(this.o.core, req);
    if (c === undefined) return false;
    // As for any request from a peer: what the node state refuses is answered with Netflix's error.
    if (this.o.admits !== undefined && !this.o.admits(c.op === 'APPLY')) {
      target.fail(seq, 'DYN_ERR_STATE');
      return true;
    }
    this.answer(c.op, c.args).then((b) => target.completeBuffer(seq, b), (err: Error) =>
      target.completeBuffer(seq, respErrorText(`anti-entropy ${c.op} on ${this.o.name}: ${err.message}`)));
    return true;
  }

  private async answer(op: string, a: Buffer[]): Promise<Buffer> {
    const id = a[0]?.toString() ?? '';
    switch (op) {
      case 'BEGIN': {
        let s = this.peerSnaps.get(id);
        if (s === undefined) {
          const entry: PeerSnapshot = { snap: undefined, error: undefined, read: 0, lastUse: Date.now() };
          s = entry;
          this.peerSnaps.set(id, entry);
          if (this.o.protocol === 'memcache') entry.error = 'memcached datastores are unsupported';
          else {
            void takeSnapshot(this.ctx, { algo: this.o.algo, pace: (n) => this.pace(n), progress: (k) => { entry.read = k; }, cancelled: () => this.stopped })
              .then((snap) => { entry.snap = snap; }, (err: Error) => { entry.error = err.message; });
          }
        }
        s.lastUse = Date.now();
        return bulkArray([s.error !== undefined ? `error: ${s.error}` : s.snap ? 'ready' : 'reading', String(s.snap?.keys.length ?? s.read)]);
      }
      case 'TREE': {
        const snap = this.snapOf(id);
        return bulk(encodeLevel(children(snap, Number(a[1]), Number(a[2]), Number(a[3]))));
      }
      case 'KEYS': {
        const snap = this.snapOf(id);
        const lo = Number(a[1]);
        const hi = Number(a[2]);
        const [from, to] = slice(snap, lo, hi);
        const items: Buffer[] = [];
        const seen = new Set<string>();
        for (let i = from; i < to; i++) {
          seen.add(snap.keys[i]!.toString('latin1'));
          const k = snap.keys[i]!;
          const clock = this.o.journal?.lookup(k);
          items.push(...encodeKeyEntry(k, valueHash(snap, i), snap.expireAt[i]!, clock, this.o.journal?.floorFor(k) ?? 0,
            clock !== undefined && clock.ts > snap.readAt[i]!));
        }
        if (this.o.journal) {
          for (const [k, clock] of this.o.journal.tombstonesIn((lo - 1) >>> 0, hi)) {
            if (!seen.has(k.toString('latin1'))) items.push(...encodeKeyEntry(k, undefined, 0, clock, this.o.journal.floorFor(k), clock.ts > snap.startedAt));
          }
        }
        return bulkArray(items);
      }
      case 'FETCH': {
        const [ttl, dump] = await call(this.ctx, 0, [[Buffer.from('PTTL'), a[0]!], [Buffer.from('DUMP'), a[0]!]], 'PTTL/DUMP on the local datastore');
        const pttl = integerReply(ttl!);
        const value = bulkReply(dump!);
        if (pttl === undefined || value === undefined) throw new Error(`PTTL/DUMP answered ${preview(ttl!)} / ${preview(dump!)}`);
        return bulkArray([String(pttl), value]);
      }
      case 'APPLY': {
        const snap = this.peerSnaps.get(id)?.snap;
        const key = a[1]!;
        const readAt = snap ? readAtOf(snap, key) : 0;
        const ts = a[5]!.toString();
        const clock = ts === '' ? undefined : { ts: Number(ts), deleted: a[4]!.toString() === '1', token: Number(a[6]) };
        const why = await this.applyLocal(key, a[4]!.toString() === '1', Number(a[2]), a[3]!, clock, readAt);
        return why === undefined ? REPLY_OK : Buffer.from(`+SKIPPED ${why}\r\n`);
      }
      case 'END':
        this.peerSnaps.delete(id);
        return REPLY_OK;
      default:
        throw new Error(`unknown op '${op}'`);
    }
  }

  private snapOf(id: string): Snapshot {
    const s = this.peerSnaps.get(id);
    if (!s?.snap) throw new Error(`no snapshot for pass ${id} (BEGIN first)`);
    s.lastUse = Date.now();
    return s.snap;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.peerSnaps) if (now - s.lastUse > PEER_SNAPSHOT_IDLE_MS) this.peerSnaps.delete(id);
  }
}

/** When the snapshot read `key` (its start when the key was absent). */
function readAtOf(s: Snapshot, key: Buffer): number {
  let index = INDEXES.get(s);
  if (index === undefined) {
    index = new Map();
    for (let i = 0; i < s.keys.length; i++) index.set(s.keys[i]!.toString('latin1'), i);
    INDEXES.set(s, index);
  }
  const i = index.get(key.toString('latin1'));
  return i === undefined ? s.startedAt : s.readAt[i]!;
}

/** Key -> position, built on a snapshot's first APPLY. */
const INDEXES = new WeakMap<Snapshot, Map<string, number>>();

/** Equal values (by digest) with expire-at (0 = never) within the tolerance, or both absent. */
export function equalStates(a: AeKeyState, b: AeKeyState): boolean {
  if (!a.present || !b.present) return a.present === b.present;
  if (a.valueHash !== b.valueHash) return false;
  if ((a.expireAtMs === 0) !== (b.expireAtMs === 0)) return false;
  return Math.abs(a.expireAtMs - b.expireAtMs) <= TTL_TOLERANCE_MS;
}

/** The ring token of a key under the node's hash and hash_tag, for a journal entry (one batch call). */
function keyTokenOf(core: Core, algo: number, key: Buffer): number {
  return digestBatch(core, algo, [{ key, value: EMPTY, exp: 0 }]).tokens[0]!;
}

const EMPTY = Buffer.alloc(0);

function nodeName(t: Topology, n: number): string {
  const node = t.nodes[n];
  return node ? `${node.host}:${node.port}` : `node ${n}`;
}

function newReport(): PassReport {
  return {
    started: new Date().toISOString(), finished: null, durationMs: null, percentDone: 0, ranges: 0, rangesCompared: 0,
    keysCompared: 0, keysDiffering: 0, keysRepaired: 0, repairsSkipped: 0, bytesExchanged: 0, snapshotBytes: 0, localKeys: 0,
    peersSkipped: [], errors: [], unsupported: null,
  };
}
