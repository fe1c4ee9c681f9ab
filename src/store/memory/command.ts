// What a command handler sees, and the shape of a command table entry.
//
// Handlers are small pure-ish functions `(ctx, args) => reply bytes`; each type module exports a
// table of them, and index.ts merges the tables and checks arity (Redis convention: a positive
// arity is exact, a negative one is a minimum) before calling.
import type { Keyspace } from './keyspace.js';

export interface Ctx {
  readonly ks: Keyspace;
  now(): number;
  /** Uniform in [0, 1): Math.random by default, seedable in tests. */
  random(): number;
}

export type Handler = (ctx: Ctx, args: Buffer[]) => Buffer;

export interface CommandSpec {
  /** Redis arity: n = exactly n args (name included), -n = at least n. */
  readonly arity: number;
  /** Whether the command can add data (refused with OOM above maxMemoryBytes). */
  readonly write: boolean;
  readonly run: Handler;
}

export type CommandTable = Record<string, CommandSpec>;

export function read(arity: number, run: Handler): CommandSpec {
  return { arity, write: false, run };
}

export function write(arity: number, run: Handler): CommandSpec {
  return { arity, write: true, run };
}

/** Key / field / member representation: lossless latin1 (see keyspace.ts). */
export function str(b: Buffer): string {
  return b.toString('latin1');
}

/** Case-insensitive option keyword test without allocating for the common mismatch. */
export function isWord(b: Buffer, upper: string): boolean {
  if (b.length !== upper.length) return false;
  for (let i = 0; i < b.length; i++) {
    let c = b[i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * A private copy of an argument the store keeps: the caller's args may be views into a reused
 * staging buffer, so nothing stored may alias them.
 */
export function own(b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(b.length);
  b.copy(out);
  return out;
}

/** Whether a lookup result is an early reply (WRONGTYPE, parse error) rather than a value. */
export function isReply(x: unknown): x is Buffer {
  return x instanceof Uint8Array;
}

/** How C's "%s" prints an argument: up to the first NUL byte. */
export function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return (nul < 0 ? b : b.subarray(0, nul)).toString('latin1');
}
