// FT.* across the ring. A query at any node is scattered to one copy of the data — every node of
// one rack of the local DC (its own rack first, another rack whose nodes are all up when one of its
// rack's nodes is down) — each shard answers its top offset+limit in shard form (scores, typed sort
// keys, ties by key), and this node merges: totals summed, one ordering with ties by key, the offset
// applied only here, KNN as a global top-K by distance. Each document is counted once because one
// rack holds one copy of each. With no fully reachable rack the reply is an error, unless the query
// says PARTIAL (then the reachable nodes of the best rack answer).
//
// Schema and dictionary changes (the table's CF_BROADCAST FT commands) run here and are sent to
// every peer, which applies them to its own indexes.
import type { Core } from '../wasm/core.js';
import type { FramedRequest, ReplyTarget } from '../dispatch/request.js';
import { PEER_SEND_WRITE } from '../dispatch/request.js';
import type { Topology } from '../route/topology.js';
import { ABI } from '../wasm/abi.js';
import { stagingScratch } from '../wasm/framer.js';
import { parseResp, type RespValue, RespError, encodeCommand } from './resp-conn.js';
import { Double, ReplyErr, type Reply, encode as encodeReply } from './reply.js';
import { type SearchEngine, DEFINITIONS_OPTION } from './engine.js';
import type { IndexDef } from './schema.js';
import { parseSearch } from './search-cmd.js';
import { decodeShardRows, parseAggregate, SHARD_ROWS_FLAG, type OutRow } from './aggregate.js';
import { SearchError } from './errors.js';

/** What scatter needs of the cluster layer. */
export interface RingAccess {
  topology(): Topology;
  /** Peer link of node n (undefined for this node). */
  peer(n: number): { up: boolean; send(type: number, target: ReplyTarget, seq: number, off: number, len: number, affinity: number, flags?: number): void } | undefined;
}

/** The internal option a coordinator adds: answer in shard form, locally only. */
export const SHARD_FLAG = '__SHARD';

const DISCARD: ReplyTarget = {
  complete: () => undefined,
  completeBuffer: () => undefined,
  fail: () => undefined,
};

interface ShardHit {
  key: string;
  score: number;
  sortKey: number | string | null;
  fields: Reply;
}

/** Sends bytes to a peer from core memory (peer links copy them before returning). */
function sendBytes(core: Core, link: NonNullable<ReturnType<RingAccess['peer']>>, target: ReplyTarget, seq: number, bytes: Buffer, affinity: number, flags: number): boolean {
  const at = stagingScratch(core, bytes.length);
  if (at < 0) return false;
  core.u8.set(bytes, at);
  link.send(ABI.DN_TYPE_REQ, target, seq, at, bytes.length, affinity, flags);
  return true;
}

/** Broadcast FT commands (schema, dictionaries, synonyms) go to every peer as they came. */
export function broadcastToPeers(ring: RingAccess, req: FramedRequest, affinity: number): void {
  const topo = ring.topology();
  for (let n = 1; n < topo.nodes.length; n++) {
    const link = ring.peer(n);
    if (link?.up) link.send(ABI.DN_TYPE_REQ, DISCARD, 0, req.off, req.len, affinity, PEER_SEND_WRITE);
  }
}

/** The nodes a scattered query reads: one rack's worth, or undefined when none is fully reachable. */
export function pickShards(ring: RingAccess, partial: boolean): number[] | undefined {
  const topo = ring.topology();
  const racks = topo.dcs[topo.localDc]!.racks;
  const ordered = [topo.racks[topo.localRack]!, ...racks.filter((r) => r.index !== topo.localRack)];
  const reachable = (n: number): boolean => n === 0 || ring.peer(n)?.up === true;
  for (const r of ordered) if (r.nodes.every(reachable)) return [...r.nodes];
  if (!partial) return undefined;
  let best: number[] = [];
  for (const r of ordered) {
    const up = r.nodes.filter(reachable);
    if (up.length > best.length) best = up;
  }
  return best;
}

function str(v: RespValue | undefined): string {
  return Buffer.isBuffer(v) ? v.toString('latin1') : v === null || v === undefined ? '' : String(v);
}

/** A shard's reply: [total, key, score, sortkey, [fields], ...]. */
function parseShard(v: RespValue): { total: number; hits: ShardHit[] } {
  if (v instanceof RespError) throw new SearchError(v.message);
  if (!Array.isArray(v) || typeof v[0] !== 'number') throw new SearchError('ERR Search: bad shard reply');
  const hits: ShardHit[] = [];
  for (let i = 1; i + 3 < v.length; i += 4) {
    const sk = v[i + 2];
    let sortKey: number | string | null = null;
    if (Buffer.isBuffer(sk)) {
      const s = sk.toString('latin1');
      sortKey = s.startsWith('#') ? Number(s.slice(1)) : s.slice(1);
    }
    hits.push({ key: str(v[i]), score: Number(str(v[i + 1])), sortKey, fields: toReply(v[i + 3]!) });
  }
  return { total: v[0], hits };
}

function toReply(v: RespValue): Reply {
  if (Array.isArray(v)) return v.map(toReply);
  if (v instanceof RespError) return new ReplyErr(v.message);
  return v as Reply;
}

/**
 * Sends shardArgs to every node of `shards` (this node, index 0, runs them on its engine) and
 * resolves with their replies in shard order, or with the error text of the first shard that failed.
 */
function gather(core: Core, ring: RingAccess, engine: SearchEngine, shards: readonly number[], shardArgs: Buffer[], affinity: number): Promise<RespValue[] | string> {
  const bytes = encodeCommand(shardArgs);
  return new Promise((resolve) => {
    const replies = new Array<RespValue | undefined>(shards.length);
    let pending = shards.length;
    let failed: string | undefined;
    const done = (): void => {
      if (--pending > 0) return;
      resolve(failed ?? (replies as RespValue[]));
    };
    const target: ReplyTarget = {
      complete(seq, src, off, len) {
        replies[seq] = parseResp(Buffer.from(src.subarray(off, off + len)), 0)?.[0];
        done();
      },
      completeBuffer(seq, b) {
        replies[seq] = parseResp(b, 0)?.[0];
        done();
      },
      fail(seq, code) {
        failed ??= `ERR Search: shard ${shards[seq]} failed (${code})`;
        done();
      },
    };
    shards.forEach((n, i) => {
      if (n === 0) {
        void engine.execute(shardArgs).then((r) => target.completeBuffer(i, encodeReply(r)));
        return;
      }
      const link = ring.peer(n);
      if (!link || !sendBytes(core, link, target, i, bytes, affinity, 0)) target.fail(i, 'PEER_ERR_NOT_CONNECTED');
    });
  });
}

const NO_REPLICA = 'ERR Search: a token range has no reachable replica (add PARTIAL to accept the reachable part)';
const withoutPartial = (raw: readonly Buffer[]): Buffer[] => raw.filter((b) => b.toString('latin1').toUpperCase() !== 'PARTIAL');

/**
 * Runs a client's FT.SEARCH over the ring. `raw` are the request's arguments; the reply goes to
 * target slot seq.
 */
export async function scatterSearch(core: Core, ring: RingAccess, engine: SearchEngine, raw: Buffer[], affinity: number): Promise<Reply> {
  const args = raw.map((b) => b.toString('latin1'));
  const req = parseSearch(args.slice(1), raw.slice(1), engine.defaultDialect);
  engine.index(args[1] ?? '');
  const shards = pickShards(ring, req.partial);
  if (shards === undefined) return new ReplyErr(NO_REPLICA);
  const keep = req.offset + req.limit;
  const replies = await gather(core, ring, engine, shards, [...withoutPartial(raw), Buffer.from(SHARD_FLAG), Buffer.from(String(keep))], affinity);
  if (typeof replies === 'string') return new ReplyErr(replies);
  try {
    return merge(req, replies, args);
  } catch (e) {
    return new ReplyErr((e as Error).message);
  }
}

/**
 * Runs a client's FT.AGGREGATE over the ring: every shard answers the rows its part of the index
 * matches (schema fields and LOADed ones, before any step), and this node runs the steps (GROUPBY,
 * APPLY, FILTER, SORTBY, LIMIT) over all of them, so every reducer and every step means what it
 * means on one node. A WITHCURSOR cursor lives on this node: FT.CURSOR must come back here.
 */
export async function scatterAggregate(core: Core, ring: RingAccess, engine: SearchEngine, raw: Buffer[], affinity: number): Promise<Reply> {
  const args = raw.map((b) => b.toString('latin1'));
  const ix = engine.index(args[1] ?? '');
  const req = parseAggregate(args.slice(1), raw.slice(1), engine.defaultDialect);
  const shards = pickShards(ring, req.partial);
  if (shards === undefined) return new ReplyErr(NO_REPLICA);
  const replies = await gather(core, ring, engine, shards, [...withoutPartial(raw), Buffer.from(SHARD_ROWS_FLAG)], affinity);
  if (typeof replies === 'string') return new ReplyErr(replies);
  const rows: OutRow[] = [];
  const seen = new Set<string>();
  for (const r of replies) {
    if (r instanceof RespError) return new ReplyErr(r.message);
    if (!Array.isArray(r)) return new ReplyErr('ERR Search: bad shard reply');
    const decoded = decodeShardRows(r.map((row) => (Array.isArray(row) ? row.map((v) => (v === null ? null : str(v))) : [])));
    for (const row of decoded) {
      const key = String(row.get('__key'));
      if (seen.has(key)) continue; // a key answered twice (topology change mid-query) counts once
      seen.add(key);
      rows.push(row);
    }
  }
  try {
    return engine.aggregateMerged(ix, req, rows);
  } catch (e) {
    return e instanceof SearchError ? new ReplyErr(e.message) : new ReplyErr(`ERR Search: ${(e as Error).message}`);
  }
}

function merge(req: ReturnType<typeof parseSearch>, replies: RespValue[], args: string[]): Reply {
  let total = 0;
  const all: ShardHit[] = [];
  const seen = new Set<string>();
  for (const r of replies) {
    const s = parseShard(r);
    total += s.total;
    for (const h of s.hits) {
      if (seen.has(h.key)) continue; // a key answered twice (topology change mid-query) counts once
      seen.add(h.key);
      all.push(h);
    }
  }
  const byKey = (a: ShardHit, b: ShardHit): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const isKnn = /=>\s*\[\s*KNN\b/i.test(args[2] ?? '');
  if (req.sortBy) {
    const asc = req.sortBy.asc;
    all.sort((a, b) => {
      if (a.sortKey === b.sortKey) return byKey(a, b);
      if (a.sortKey === null) return 1;
      if (b.sortKey === null) return -1;
      const c = a.sortKey < b.sortKey ? -1 : 1;
      return asc ? c : -c;
    });
  } else if (isKnn) all.sort((a, b) => a.score - b.score || byKey(a, b));
  else all.sort((a, b) => b.score - a.score || byKey(a, b));
  if (isKnn) {
    const k = Number(/KNN\s+(\S+)/i.exec(args[2] ?? '')?.[1] ?? all.length);
    if (Number.isFinite(k)) {
      all.length = Math.min(all.length, k);
      total = Math.min(total, k);
    }
  }
  const out: Reply[] = [total];
  if (req.limit === 0) return out;
  for (const h of all.slice(req.offset, req.offset + req.limit)) {
    out.push(h.key);
    if (req.withScores) out.push(new Double(h.score));
    if (req.withSortKeys) out.push(h.sortKey === null ? null : typeof h.sortKey === 'number' ? `#${h.sortKey}` : `$${h.sortKey}`);
    if (!req.noContent) out.push(h.fields);
  }
  return out;
}

/**
 * Asks the first connected peer not in `skip` for its index definitions. `asked` is the node asked
 * (undefined when no such peer is up); `defs` is undefined when it did not answer with them: a
 * Netflix dynomite peer does not know FT.CONFIG and closes the link instead.
 */
export function fetchDefinitions(core: Core, ring: RingAccess, skip: ReadonlySet<number> = new Set()): Promise<{ defs?: IndexDef[]; asked?: number }> {
  const topo = ring.topology();
  let n = 1;
  while (n < topo.nodes.length && (skip.has(n) || ring.peer(n)?.up !== true)) n++;
  const link = n < topo.nodes.length ? ring.peer(n) : undefined;
  if (!link) return Promise.resolve({});
  return new Promise((resolve) => {
    const parse = (b: Buffer): void => {
      const v = parseResp(b, 0)?.[0];
      try {
        resolve({ asked: n, defs: Buffer.isBuffer(v) ? (JSON.parse(v.toString('latin1')) as IndexDef[]) : undefined });
      } catch {
        resolve({ asked: n });
      }
    };
    const target: ReplyTarget = {
      complete: (_s, src, off, len) => parse(Buffer.from(src.subarray(off, off + len))),
      completeBuffer: (_s, b) => parse(b),
      fail: () => resolve({ asked: n }),
    };
    const bytes = encodeCommand(['FT.CONFIG', 'GET', DEFINITIONS_OPTION]);
    if (!sendBytes(core, link, target, 0, bytes, 0, 0)) resolve({});
  });
}
