// The anti-entropy exchange on the dnode link. Requests ride in a reserved carrier, as the pub/sub
// relay does (dispatch/publish.ts): `HMGET __dynomite_ts_ae__ <op> <args...>`. Our dnode listener
// recognises the carrier key and answers it (never touching its datastore with it); the carrier
// is only sent to peers the capability probe found to be dynomite-ts, because a Netflix node
// would run a harmless HMGET and answer nils that mean nothing.
//
//   BEGIN <pass>                   -> [state, keys read]   state: reading | ready | error: <why>
//   TREE  <pass> <lo> <hi> <fanout> -> bulk: per child count, digest lo, hi (u32 LE, 12 B each)
//   KEYS  <pass> <lo> <hi>          -> flat array, 7 per key: key, digest (16 hex, '' = absent),
//                                      expire-at ms (0 none), clock ts ('' = none), flags (1 = the clock
//                                      is a delete, 2 = written since the snapshot read it: skip), clock
//                                      token, the journal's floor for the key
//   FETCH <key>                     -> [pttl, dump | nil]   (read now, PTTL first)
//   APPLY <pass> <key> <pttl> <dump | ''> <del 0|1> <clock ts | ''> <clock token>
//                                   -> +OK | +SKIPPED <why>   (conditional on the receiver's journal)
//   END   <pass>                    -> +OK   (the receiver drops its snapshot)
import type { Core } from '../wasm/core.js';
import { ABI } from '../wasm/abi.js';
import { decodeMultibulk, encodeMultibulk } from '../protocol/args.js';
import { arrayElements, bulkReply } from '../protocol/replies.js';
import type { FramedRequest } from '../dispatch/request.js';
import type { AeClock } from './ae-deps.js';

export const AE_CARRIER_KEY = '__dynomite_ts_ae__';
const CARRIER = Buffer.from(AE_CARRIER_KEY, 'latin1');
const HMGET = Buffer.from('HMGET');

/** The request bytes' arguments: HMGET, the carrier key, the op, its arguments. */
export function carrier(op: string, args: readonly (Buffer | string | number)[]): Buffer[] {
  return [HMGET, CARRIER, Buffer.from(op), ...args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))))];
}

/** The op and its arguments when req (framed from a peer) is an anti-entropy carrier; else undefined. */
export function carried(core: Core, req: FramedRequest): { op: string; args: Buffer[] } | undefined {
  const i32 = core.i32;
  const r = req.rec;
  if (req.inline || req.src !== undefined || i32[r + ABI.REC_NKEYS]! < 1 || i32[r + ABI.REC_ARGC]! < 3) return undefined;
  const k = (core.keyPtr >> 2) + i32[r + ABI.REC_KEY_FIRST]! * ABI.KEY_WORDS;
  const keyLen = i32[k + ABI.KEY_LEN]!;
  if (keyLen !== CARRIER.length) return undefined;
  const keyOff = req.base + i32[k + ABI.KEY_OFF]!;
  if (!CARRIER.equals(core.u8.subarray(keyOff, keyOff + keyLen))) return undefined;
  const all = decodeMultibulk(core.u8, req.off, req.len);
  if (all[0]!.toString('latin1').toUpperCase() !== 'HMGET') return undefined;
  return { op: all[2]!.toString('latin1').toUpperCase(), args: all.slice(3) };
}

/** An array of bulk strings (nil for null). */
export function bulkArray(items: readonly (Buffer | string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${items.length}\r\n`)];
  for (const it of items) {
    if (it === null) parts.push(Buffer.from('$-1\r\n'));
    else {
      const b = Buffer.isBuffer(it) ? it : Buffer.from(it);
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
  }
  return Buffer.concat(parts);
}

export function bulk(b: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
}

/** The elements of an array of bulks (null for nil); throws with the reply on anything else. */
export function readBulks(b: Buffer, what: string): (Buffer | null)[] {
  if (b[0] !== 42) throw new Error(`${what} answered ${b.toString('latin1', 0, Math.min(80, b.length)).trim()}`);
  return arrayElements(b).map((e) => {
    const v = bulkReply(e);
    if (v === undefined) throw new Error(`${what}: an element that is not a bulk string`);
    return v;
  });
}

export function readBulk(b: Buffer, what: string): Buffer {
  const v = bulkReply(b);
  if (!v) throw new Error(`${what} answered ${b.toString('latin1', 0, Math.min(80, b.length)).trim()}`);
  return v;
}

/** One key of a KEYS answer. */
export interface RemoteKey {
  readonly key: Buffer;
  readonly present: boolean;
  readonly valueHash: bigint;
  readonly expireAtMs: number;
  readonly clock: AeClock | undefined;
  readonly floorMs: number;
  /** The peer's journal saw a write to the key after its snapshot read it. */
  readonly writtenSinceRead: boolean;
}

export function encodeKeyEntry(key: Buffer, hash: bigint | undefined, expireAt: number, clock: AeClock | undefined, floorMs: number,
  writtenSinceRead: boolean): Buffer[] {
  return [
    key,
    Buffer.from(hash === undefined ? '' : hash.toString(16).padStart(16, '0')),
    Buffer.from(String(expireAt)),
    Buffer.from(clock === undefined ? '' : String(clock.ts)),
    Buffer.from(String((clock?.deleted ? 1 : 0) | (writtenSinceRead ? 2 : 0))),
    Buffer.from(String(clock?.token ?? 0)),
    Buffer.from(String(floorMs)),
  ];
}

export function decodeKeys(items: readonly (Buffer | null)[]): RemoteKey[] {
  if (items.length % 7 !== 0) throw new Error(`anti-entropy KEYS: ${items.length} fields, not a multiple of 7`);
  const out: RemoteKey[] = [];
  for (let i = 0; i < items.length; i += 7) {
    const f = (j: number): string => (items[i + j] ?? Buffer.alloc(0)).toString('latin1');
    const hash = f(1);
    const ts = f(3);
    out.push({
      key: Buffer.from(items[i]!),
      present: hash !== '',
      valueHash: hash === '' ? 0n : BigInt(`0x${hash}`),
      expireAtMs: Number(f(2)),
      clock: ts === '' ? undefined : { ts: Number(ts), deleted: (Number(f(4)) & 1) !== 0, token: Number(f(5)) },
      floorMs: Number(f(6)),
      writtenSinceRead: (Number(f(4)) & 2) !== 0,
    });
  }
  return out;
}

export { encodeMultibulk };
