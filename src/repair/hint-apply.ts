// Conditional hint replay, both ends. A hint replayed to a dynomite-ts peer (peer-caps: `hint`)
// travels wrapped, with the time its write was first sent:
//
//   DYNO_HINT <origin ms> <the original request, one RESP request as one argument>
//
// and the receiving node (its dnode listener, before the dispatcher) decides with its journal:
//
//   this very hint was applied here before (a key's entry is the one this hint recorded: same
//   origin, recorded by a hint) ─► skipped: a redelivered hint has the effect of one
//
//   a write that replaces or deletes its keys' whole values (SET, MSET, DEL, RESTORE ..., the
//   OVERWRITES list below):
//     any key with a journal ts >= origin ─► skipped: a newer write of it was applied here, or this
//                                            very write was (it timed out at the sender but landed)
//     a key without a clock whose floor (WriteJournal.floorFor) is above origin ─► skipped: the
//                                            journal forgot writes that may be newer (counted;
//                                            anti-entropy converges the key: the other replicas hold it)
//   any other write (INCR, APPEND, LPUSH, HSET, SADD, EXPIRE, ...) ─► applied, whatever the clocks:
//     it changes a value instead of replacing it, so a newer write of the key does not make it
//     obsolete, and skipping it would drop it on this replica for good (anti-entropy cannot merge
//     two histories of a counter; it keeps one). Found by the chaos suite: a node restarted after
//     kill -9 took new INCRs before its hints arrived, skipped the older hinted INCRs as "older",
//     and anti-entropy then spread its lower count: acknowledged increments lost everywhere. The
//     price: such a write that timed out at the sender but was applied here is applied once more
//     (at-least-once, as without versions); docs/consistency.md.
//   otherwise ─► applied to the local datastore, its keys recorded with ts = origin
//
// A skipped hint is answered `+OK` like an applied one: for the sender it is delivered.
// Netflix peers, memcached clusters, DYNO_TX blocks and REQ_FORWARD hints are replayed unwrapped
// (unconditionally, as before): docs/consistency.md.
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import { decodeMultibulk, encodeMultibulk } from '../protocol/args.js';
import { respErrorText } from '../errors.js';
import type { FramedRequest, ReplyTarget } from '../dispatch/request.js';
import type { JournalBackend } from './journal-backend.js';
import { recordedByHint, type KeyClock } from './write-journal.js';

export const DYNO_HINT = Buffer.from('DYNO_HINT', 'latin1');
const DYNO_TX_HEAD = Buffer.from('$7\r\nDYNO_TX\r\n', 'latin1');
const REPLY_OK = Buffer.from('+OK\r\n', 'latin1');

/** What the receiving end did with wrapped hints. */
export interface HintApplyCounts {
  applied: number;
  /** A key had a journal ts >= the hint's origin (a newer write, or this write already applied). */
  skippedNewer: number;
  /** A key's journal floor was above the hint's origin: nothing known, left to anti-entropy. */
  skippedFloor: number;
}

/** True when the hint's request can travel as DYNO_HINT (a plain RESP request, not a DYNO_TX block). */
export function wrappable(request: Buffer): boolean {
  if (request.length < 4 || request[0] !== 42 /* '*' */) return false;
  const at = request.indexOf(10) + 1;
  return at > 0 && !request.subarray(at, at + DYNO_TX_HEAD.length).equals(DYNO_TX_HEAD);
}

/** The wrapped replay of a hint first sent at origMs. */
export function wrapHint(origMs: number, request: Buffer): Buffer {
  return encodeMultibulk([DYNO_HINT, Buffer.from(String(origMs), 'latin1'), request]);
}

/**
 * The key's entry is at or after the hint's origin. An entry a hint recorded carries the origin
 * node's own stamp: compared exactly (equal = this very hint, applied before). An entry this node
 * stamped is compared to the millisecond: the sub-millisecond steps of two nodes' clocks say
 * nothing about each other, and a write this node applied in the millisecond the hint's write was
 * sent is taken as newer (a replica's own write wins a tie).
 */
function newerOrSame(c: KeyClock, origMs: number): boolean {
  return recordedByHint(c) ? c.ts >= origMs : c.ts >= Math.floor(origMs);
}

/**
 * Writes that set or delete the whole value of every key they name: a newer write of the key makes
 * an older one of these obsolete. Any other write modifies the value it finds.
 */
const OVERWRITES: ReadonlySet<string> = new Set([
  'SET', 'SETEX', 'PSETEX', 'SETNX', 'MSET', 'MSETNX', 'GETSET', 'GETDEL', 'DEL', 'UNLINK', 'RESTORE',
]);

/** True when the RESP request's command is in OVERWRITES (its name is its first argument). */
function overwrites(request: Buffer): boolean {
  const name = decodeMultibulk(request, 0, request.length)[0];
  return name !== undefined && OVERWRITES.has(name.toString('latin1').toUpperCase());
}

export class HintApplier {
  readonly counts: HintApplyCounts = { applied: 0, skippedNewer: 0, skippedFloor: 0 };
  private readonly sub: FramedRequest = { off: 0, len: 0, rec: 0, base: 0, expectReply: true, inline: false, src: 'built' };

  constructor(
    private readonly core: Core,
    private readonly local: JournalBackend,
    /** Command id of DYNO_HINT. */
    private readonly command: number,
    /** The node's state lets a write from a peer reach the datastore (control.ts). @default always */
    private readonly admits?: (isWrite: boolean) => boolean,
  ) {}

  /** Takes a dnode type-3 request if it is DYNO_HINT (answering it); false for any other request. */
  take(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): boolean {
    const core = this.core;
    if (core.i32[req.rec + ABI.REC_CMD] !== this.command) return false;
    const args = decodeMultibulk(core.u8, req.off, req.len);
    const origMs = Number(args[1]?.toString('latin1'));
    const inner = args[2];
    if (!Number.isFinite(origMs) || inner === undefined || !wrappable(inner)) {
      target.completeBuffer(seq, respErrorText('Dynomite: DYNO_HINT needs <origin ms> <one RESP request>'));
      return true;
    }
    if (this.admits !== undefined && !this.admits(true)) {
      target.fail(seq, 'DYN_ERR_STATE');
      return true;
    }
    const at = stagingScratch(core, inner.length);
    if (at < 0) {
      target.fail(seq, 'DYN_ERR_PAYLOAD_TOO_LARGE');
      return true;
    }
    core.u8.set(inner, at);
    const { keys } = this.local.keysOf(inner, 0, inner.length);
    const j = this.local.journal;
    const replaces = overwrites(inner);
    for (const k of keys) {
      const c = j.lookupName(k);
      const skip = c !== undefined
        ? (replaces ? newerOrSame(c, origMs) : recordedByHint(c) && c.ts === origMs)
        : replaces && j.floorForName(k) > origMs;
      if (skip) {
        if (c !== undefined) this.counts.skippedNewer++;
        else this.counts.skippedFloor++;
        target.completeBuffer(seq, REPLY_OK);
        return true;
      }
    }
    // keysOf hashes keys at the top of staging (stagingScratchHigh): the bytes at `at` are intact.
    const sub = this.sub;
    sub.off = at;
    sub.len = inner.length;
    sub.rec = req.rec;
    sub.base = req.base;
    this.counts.applied++;
    this.local.forwardAt(target, seq, sub, affinity, origMs);
    return true;
  }
}
