// Anti-entropy's view of the local datastore: every key with its ring token, a 64-bit digest of
// (key, DUMP payload, expire bucket) and its expire-at, sorted by token so a token range is one
// slice (binary search) and a tree level is one pass over it.
//
//   SCAN cursor COUNT n ─► per key, pipelined on one connection: PTTL key ; DUMP key
//     ─► one aeDigestBatch call per batch (assembly/anti-entropy.ts): tokens + digests
//     ─► paced by the pass's rate limit (keys/s) ─► next SCAN ... until the cursor is 0
//
// Redis and the embedded store answer the same commands (the embedded one iterates its keyspace
// for SCAN), so one path covers both. Memcached has no SCAN / DUMP / PTTL: its snapshot is
// reported unsupported (lru_crawler metadump lists keys but not a byte form to restore with TTL).
// PTTL is asked before DUMP on the same connection: a key that expires between the two comes
// back absent, never as a value without its TTL. A key that vanished between SCAN and DUMP is
// simply not in the snapshot.
import type { Core } from '../wasm/core.js';
import { ABI } from '../wasm/abi.js';
import { stagingScratch } from '../wasm/framer.js';
import { arrayElements, bulkReply, integerReply } from '../protocol/replies.js';
import { call, type CallContext } from './ae-calls.js';

/** The expire-at bucket width folded into digests (see assembly/anti-entropy.ts). */
export const EXPIRE_BUCKET_MS = 60_000;

export interface Snapshot {
  /** Keys, ascending by token. */
  readonly keys: readonly Buffer[];
  readonly tokens: Uint32Array;
  readonly dlo: Int32Array;
  readonly dhi: Int32Array;
  /** Absolute expire-at in wall-clock ms, 0 = no TTL (the version rule's convention). */
  readonly expireAt: Float64Array;
  /** Wall-clock ms at which the key's PTTL/DUMP were sent. */
  readonly readAt: Float64Array;
  /** Wall-clock ms the snapshot started. */
  readonly startedAt: number;
  /** Bytes of requests and replies it took. */
  readonly bytes: number;
}

export interface SnapshotOptions {
  /** HASH_* id of the node's hash. */
  readonly algo: number;
  /** Keys per SCAN. @default 256 */
  readonly batch?: number;
  /** Waits before each batch of n keys (the pass's rate limit). */
  readonly pace?: (n: number) => Promise<void>;
  /** Called after each batch with the keys read so far. */
  readonly progress?: (keys: number) => void;
  /** Stops early (the pass was cancelled): throws from the loop. */
  readonly cancelled?: () => boolean;
}

const SCAN = Buffer.from('SCAN');
const COUNT = Buffer.from('COUNT');
const PTTL = Buffer.from('PTTL');
const DUMP = Buffer.from('DUMP');

/** Reads the whole local datastore (node 0 of ctx). Throws with the command and reply on an error. */
export async function takeSnapshot(ctx: CallContext, o: SnapshotOptions): Promise<Snapshot> {
  const startedAt = Date.now();
  const bytes = { n: 0 };
  const count = Buffer.from(String(o.batch ?? 256));
  const keys: Buffer[] = [];
  const tokens: number[] = [];
  const dlo: number[] = [];
  const dhi: number[] = [];
  const expireAt: number[] = [];
  const readAt: number[] = [];
  let cursor: Buffer = Buffer.from('0');
  do {
    if (o.cancelled?.()) throw new Error('anti-entropy pass cancelled');
    const [scan] = await call(ctx, 0, [[SCAN, cursor, COUNT, count]], 'SCAN on the local datastore', bytes);
    const parsed = parseScan(scan!);
    cursor = parsed.cursor;
    if (parsed.keys.length === 0) continue;
    await o.pace?.(parsed.keys.length);
    const cmds: Buffer[][] = [];
    for (const k of parsed.keys) cmds.push([PTTL, k], [DUMP, k]);
    const at = Date.now();
    const replies = await call(ctx, 0, cmds, 'PTTL/DUMP on the local datastore', bytes);
    const batch: { key: Buffer; value: Buffer; exp: number }[] = [];
    for (let i = 0; i < parsed.keys.length; i++) {
      const ttl = integerReply(replies[2 * i]!);
      const dump = bulkReply(replies[2 * i + 1]!);
      if (ttl === undefined || dump === undefined) {
        throw new Error(`local datastore: PTTL/DUMP ${preview(parsed.keys[i]!)} answered ${preview(replies[2 * i]!)} / ${preview(replies[2 * i + 1]!)}`);
      }
      if (dump === null || ttl === -2) continue; // gone since SCAN
      batch.push({ key: parsed.keys[i]!, value: dump, exp: ttl >= 0 ? at + ttl : 0 });
    }
    const d = digestBatch(ctx.core, o.algo, batch);
    for (let i = 0; i < batch.length; i++) {
      keys.push(batch[i]!.key);
      tokens.push(d.tokens[i]!);
      dlo.push(d.lo[i]!);
      dhi.push(d.hi[i]!);
      expireAt.push(batch[i]!.exp);
      readAt.push(at);
    }
    o.progress?.(keys.length);
  } while (!(cursor.length === 1 && cursor[0] === 48));
  return sortByToken({ keys, tokens, dlo, dhi, expireAt, readAt, startedAt, bytes: bytes.n });
}

/** `*2 $cursor *n $key...` -> cursor and keys; throws on anything else (an error reply). */
function parseScan(b: Buffer): { cursor: Buffer; keys: Buffer[] } {
  if (b[0] !== 42) throw new Error(`local datastore: SCAN answered ${preview(b)}`);
  const [c, list] = arrayElements(b);
  const cursor = c === undefined ? undefined : bulkReply(c);
  if (!cursor || list === undefined || list[0] !== 42) throw new Error(`local datastore: SCAN answered ${preview(b)}`);
  return { cursor: Buffer.from(cursor), keys: arrayElements(list).map((e) => Buffer.from(bulkReply(e) ?? Buffer.alloc(0))) };
}

/**
 * Tokens and digests of a batch in one WASM call: keys and values are copied into core scratch
 * memory with a record table after them. A batch too large for the scratch area is split.
 */
export function digestBatch(core: Core, algo: number, batch: readonly { key: Buffer; value: Buffer; exp: number }[]):
  { tokens: Uint32Array; lo: Int32Array; hi: Int32Array } {
  const n = batch.length;
  const out = { tokens: new Uint32Array(n), lo: new Int32Array(n), hi: new Int32Array(n) };
  const words = ABI.AE_REC_WORDS;
  let i = 0;
  while (i < n) {
    // As many records as fit: data bytes + one record each, 4-byte aligned.
    let data = 0;
    let j = i;
    const room = Math.max(0, core.options.stagingBytes / 2);
    while (j < n && data + batch[j]!.key.length + batch[j]!.value.length + (j - i + 1) * words * 4 + 8 <= room) {
      data += batch[j]!.key.length + batch[j]!.value.length;
      j++;
    }
    if (j === i) throw new Error(`anti-entropy: a value of ${batch[i]!.value.length} bytes does not fit in the staging area`);
    const dataLen = (data + 3) & ~3;
    // The scratch address follows whatever is staged (any byte offset); the record table needs
    // 4-byte alignment for the i32 view, so ask for 4 spare bytes and round up.
    const scratch = stagingScratch(core, dataLen + (j - i) * words * 4 + 4);
    if (scratch < 0) throw new Error('anti-entropy: no staging scratch for a digest batch');
    const base = (scratch + 3) & ~3;
    const recs = base + dataLen;
    const i32 = core.i32;
    let p = 0;
    for (let k = i; k < j; k++) {
      const { key, value, exp } = batch[k]!;
      const r = (recs >> 2) + (k - i) * words;
      core.u8.set(key, base + p);
      i32[r] = p;
      i32[r + 1] = key.length;
      p += key.length;
      core.u8.set(value, base + p);
      i32[r + 2] = p;
      i32[r + 3] = value.length;
      p += value.length;
      i32[r + 4] = exp <= 0 ? -1 : Math.floor(exp / EXPIRE_BUCKET_MS);
    }
    core.exports.aeDigestBatch(algo, base, recs, j - i);
    for (let k = i; k < j; k++) {
      const r = (recs >> 2) + (k - i) * words;
      out.tokens[k] = i32[r + 5]! >>> 0;
      out.lo[k] = i32[r + 6]!;
      out.hi[k] = i32[r + 7]!;
    }
    i = j;
  }
  return out;
}

function sortByToken(s: { keys: Buffer[]; tokens: number[]; dlo: number[]; dhi: number[]; expireAt: number[]; readAt: number[]; startedAt: number; bytes: number }): Snapshot {
  const n = s.keys.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => s.tokens[a]! - s.tokens[b]! || Buffer.compare(s.keys[a]!, s.keys[b]!));
  return {
    keys: order.map((i) => s.keys[i]!),
    tokens: Uint32Array.from(order, (i) => s.tokens[i]!),
    dlo: Int32Array.from(order, (i) => s.dlo[i]!),
    dhi: Int32Array.from(order, (i) => s.dhi[i]!),
    expireAt: Float64Array.from(order, (i) => s.expireAt[i]!),
    readAt: Float64Array.from(order, (i) => s.readAt[i]!),
    startedAt: s.startedAt,
    bytes: s.bytes,
  };
}

/** An empty snapshot (a datastore anti-entropy cannot read). */
export function emptySnapshot(): Snapshot {
  return sortByToken({ keys: [], tokens: [], dlo: [], dhi: [], expireAt: [], readAt: [], startedAt: Date.now(), bytes: 0 });
}

export function preview(b: Buffer): string {
  return b.toString('latin1', 0, Math.min(b.length, 80)).replace(/\r\n$/, '').replace(/\r\n/g, ' ');
}
