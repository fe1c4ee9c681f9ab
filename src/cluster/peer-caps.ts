// Which peers are dynomite-ts nodes, and what they understand beyond Netflix's dnode protocol.
//
//   link 0 of peer n up ─► probe(n): one ordinary dnode request (type 3, a read)
//        redis:     HMGET __dynomite_ts_caps__ caps
//        memcached: get __dynomite_ts_caps__
//     our dnode listener answers it itself (capsReply): "dynomite-ts <protocol> <cap,cap,...>"
//        as the one element of the array (redis) or as the item's value (memcached) ─► 'dynomite-ts'
//     a Netflix node forwards it to its datastore: a read of a key nobody writes, answered
//        `*1 $-1` (nil) / END                                                    ─► 'other'
//     the probe fails (timeout, link cut) ─► 'unknown', asked again in 1 s while the link is up
//   link 0 down ─► 'unknown' (forgotten: the next node behind that address may be another kind)
//
// Why these requests: a Netflix node closes the dnode link on a command its parser does not take,
// failing every request in flight on it, so the probe must be a command Netflix forwards as is.
// ECHO is not one (test/fixtures/reference/netflix-behaviour.md: `ECHO hi` closes the connection,
// seen against a real Netflix node by test/peer-caps.test.ts); HMGET and get are, and a read of a
// reserved key touches no data (the pub/sub relay uses the same trick, src/dispatch/publish.ts).
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import { MC_CMD } from '../wasm/memcache.js';
import type { DynErrorCode } from '../errors.js';
import type { FramedRequest, Peer, ReplyTarget } from '../dispatch/request.js';

/** The probe's key (HMGET, memcached get). */
export const CAPS_PROBE_WORD = '__dynomite_ts_caps__';
/** The protocol version our listener announces. Raised when a capability changes meaning. */
export const CAPS_PROTOCOL = 1;
/**
 * What this build's dnode listener understands beyond Netflix's protocol:
 * `hint`: DYNO_HINT, a conditional hint replay (src/repair/hint-apply.ts).
 * `anti-entropy`: the anti-entropy exchange carrier (src/repair/ae-wire.ts).
 */
export const OUR_CAPABILITIES: readonly string[] = ['hint', 'anti-entropy'];

export type PeerKind = 'dynomite-ts' | 'other' | 'unknown';

export interface PeerCapsEntry {
  readonly kind: PeerKind;
  /** The peer's protocol version (dynomite-ts only; 0 otherwise). */
  readonly protocol: number;
  /** Its capabilities (dynomite-ts only; empty otherwise). */
  readonly capabilities: readonly string[];
}

const UNKNOWN: PeerCapsEntry = Object.freeze({ kind: 'unknown', protocol: 0, capabilities: Object.freeze([]) as readonly string[] });
const OTHER: PeerCapsEntry = Object.freeze({ kind: 'other', protocol: 0, capabilities: Object.freeze([]) as readonly string[] });
const PROBE_RETRY_MS = 1000;

const PROBE_BYTES = {
  redis: Buffer.from(`*3\r\n$5\r\nHMGET\r\n$${CAPS_PROBE_WORD.length}\r\n${CAPS_PROBE_WORD}\r\n$4\r\ncaps\r\n`, 'latin1'),
  memcache: Buffer.from(`get ${CAPS_PROBE_WORD}\r\n`, 'latin1'),
} as const;

/** The caps line our listener announces: `dynomite-ts 1 hint`. */
export function capsLine(): string {
  return `dynomite-ts ${CAPS_PROTOCOL} ${OUR_CAPABILITIES.join(',')}`;
}

/** The listener's reply to a probe, in the peer link's protocol. */
export function capsReply(protocol: 'redis' | 'memcache'): Buffer {
  const line = capsLine();
  return Buffer.from(protocol === 'redis'
    ? `*1\r\n$${line.length}\r\n${line}\r\n`
    : `VALUE ${CAPS_PROBE_WORD} 0 ${line.length}\r\n${line}\r\nEND\r\n`, 'latin1');
}

/**
 * True when a request framed by the dnode listener is the caps probe: `HMGET
 * __dynomite_ts_caps__ ...` (redis; `hmget` is HMGET's command id) or `get __dynomite_ts_caps__`
 * (memcached). Costs one compare for every other request.
 */
export function isCapsProbe(core: Core, req: FramedRequest, protocol: 'redis' | 'memcache', hmget: number): boolean {
  const i32 = core.i32;
  const cmd = i32[req.rec + ABI.REC_CMD];
  if (protocol === 'redis' ? cmd !== hmget : cmd !== MC_CMD.GET || i32[req.rec + ABI.REC_NKEYS] !== 1) return false;
  const k = (core.keyPtr >> 2) + i32[req.rec + ABI.REC_KEY_FIRST] * ABI.KEY_WORDS;
  if (i32[k + ABI.KEY_LEN] !== CAPS_PROBE_WORD.length) return false;
  const off = req.base + i32[k + ABI.KEY_OFF];
  return core.buf.toString('latin1', off, off + CAPS_PROBE_WORD.length) === CAPS_PROBE_WORD;
}

/** Reads a probe reply: our caps, or anything else (a Netflix node's datastore answered). */
export function parseCapsReply(protocol: 'redis' | 'memcache', reply: Buffer): PeerCapsEntry {
  const text = reply.toString('latin1');
  let line: string | undefined;
  if (protocol === 'redis') {
    const m = /^\*1\r\n\$(\d+)\r\n/.exec(text);
    if (m) line = text.slice(m[0].length, m[0].length + Number(m[1]));
  } else {
    const m = /^VALUE \S+ \d+ (\d+)\r\n/.exec(text);
    if (m) line = text.slice(m[0].length, m[0].length + Number(m[1]));
  }
  const words = line?.split(' ');
  if (words === undefined || words.length < 2 || words[0] !== 'dynomite-ts') return OTHER;
  const protocolVersion = Number(words[1]);
  if (!Number.isInteger(protocolVersion) || protocolVersion < 1) return OTHER;
  return Object.freeze({ kind: 'dynomite-ts', protocol: protocolVersion, capabilities: Object.freeze(words[2] ? words[2].split(',') : []) });
}

export interface PeerCapsOptions {
  core: Core;
  protocol: 'redis' | 'memcache';
  peer: (node: number) => Peer | undefined;
  /** A peer's node index from its name (`host:port`, its name or host); undefined when unknown. */
  indexOf?: (name: string) => number | undefined;
  /** The kind of node n became known (hint replay waits for it). */
  onKnown?: (node: number, e: PeerCapsEntry) => void;
}

/** One probe in flight: its reply target. */
class Probe implements ReplyTarget {
  constructor(private readonly caps: PeerCaps, readonly node: number, readonly generation: number) {}

  complete(_seq: number, src: Uint8Array, off: number, len: number): void {
    this.caps.answered(this, Buffer.from(src.subarray(off, off + len)));
  }

  completeBuffer(_seq: number, b: Buffer): void {
    this.caps.answered(this, b);
  }

  fail(_seq: number, code: DynErrorCode): void {
    this.caps.failed(this, code);
  }
}

/** The kind of each peer, learned by probing on link up, forgotten on link down. */
export class PeerCaps {
  private readonly known: PeerCapsEntry[] = [];
  /** Bumped per node on link down: a probe answered after it is stale. */
  private readonly generation: number[] = [];
  private readonly retry: (NodeJS.Timeout | undefined)[] = [];
  private readonly probing: boolean[] = [];
  private stopped = false;

  constructor(private readonly o: PeerCapsOptions) {}

  /** What is known of a peer, by node index or name. */
  of(peer: number | string): PeerKind {
    return this.entry(peer).kind;
  }

  /** The peer's kind, protocol version and capabilities. */
  entry(peer: number | string): PeerCapsEntry {
    const n = typeof peer === 'number' ? peer : this.o.indexOf?.(peer);
    return n === undefined ? UNKNOWN : this.known[n] ?? UNKNOWN;
  }

  /** The peer announced capability `cap`. */
  has(peer: number | string, cap: string): boolean {
    return this.entry(peer).capabilities.includes(cap);
  }

  /** Link 0 of node n came up: ask it what it is. */
  onLinkUp(node: number): void {
    this.ensure(node);
  }

  /** Probes node n unless its kind is known or a probe is in flight (hint replay calls it too). */
  ensure(node: number): void {
    if (this.stopped || this.probing[node] === true || this.retry[node] !== undefined) return;
    if ((this.known[node] ?? UNKNOWN).kind !== 'unknown') return;
    this.probe(node);
  }

  /** Link 0 of node n went down: forget its kind. */
  onLinkDown(node: number): void {
    this.generation[node] = (this.generation[node] ?? 0) + 1;
    this.known[node] = UNKNOWN;
    this.probing[node] = false;
    this.clearRetry(node);
  }

  stop(): void {
    this.stopped = true;
    for (let n = 0; n < this.retry.length; n++) this.clearRetry(n);
  }

  /** @internal */
  answered(p: Probe, reply: Buffer): void {
    if (p.generation !== (this.generation[p.node] ?? 0)) return;
    this.probing[p.node] = false;
    const e = parseCapsReply(this.o.protocol, reply);
    this.known[p.node] = e;
    this.o.onKnown?.(p.node, e);
  }

  /** @internal */
  failed(p: Probe, _code: DynErrorCode): void {
    if (p.generation !== (this.generation[p.node] ?? 0) || this.stopped) return;
    this.probing[p.node] = false;
    this.clearRetry(p.node);
    const t = setTimeout(() => {
      this.retry[p.node] = undefined;
      if (this.o.peer(p.node)?.up) this.probe(p.node);
    }, PROBE_RETRY_MS);
    t.unref();
    this.retry[p.node] = t;
  }

  private probe(node: number): void {
    const link = this.o.peer(node);
    if (!link?.up) return;
    const core = this.o.core;
    const bytes = PROBE_BYTES[this.o.protocol];
    const at = stagingScratch(core, bytes.length);
    if (at < 0) return;
    core.u8.set(bytes, at);
    this.probing[node] = true;
    link.send(ABI.DN_TYPE_REQ, new Probe(this, node, this.generation[node] ?? 0), 0, at, bytes.length, 0, 0);
  }

  private clearRetry(node: number): void {
    const t = this.retry[node];
    if (t !== undefined) clearTimeout(t);
    this.retry[node] = undefined;
  }
}
