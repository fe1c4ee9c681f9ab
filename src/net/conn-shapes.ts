// The RESP3 shape of one forwarded request's reply: the command table's SH_* column, refined by the
// request's arguments where Redis 7's reply depends on them (WITHSCORES, a count, the subcommand).
// Runs for RESP3 connections only; RESP2 replies are never looked at.
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { decodeInline, decodeMultibulk } from '../protocol/args.js';
import { RS } from '../protocol/resp3.js';

function args(core: Core, off: number, len: number, inline: boolean): Buffer[] {
  return (inline ? decodeInline(core.u8, off, len) : decodeMultibulk(core.u8, off, len)) ?? [];
}

function hasWord(a: readonly Buffer[], word: string): boolean {
  for (let i = 1; i < a.length; i++) {
    if (a[i].length === word.length && a[i].toString('latin1').toUpperCase() === word) return true;
  }
  return false;
}

/** The first argument after the name, upper case ('' when absent). */
function arg1(core: Core, r: number, base: number): string {
  const off = core.i32[r + ABI.REC_ARG1_OFF];
  if (off < 0) return '';
  const len = Math.min(core.i32[r + ABI.REC_ARG1_LEN], 32);
  return core.buf.toString('latin1', base + off, base + off + len).toUpperCase();
}

/**
 * RS.* for the request of record r (core.i32 index, offsets relative to base) whose bytes are
 * core.u8[off, off+len), given its command's table shape.
 */
export function resolveShape(core: Core, shape: number, r: number, base: number, off: number, len: number, inline: boolean): number {
  switch (shape) {
    case ABI.SH_SCORES:
      return hasWord(args(core, off, len, inline), 'WITHSCORES') ? RS.PAIRS_DOUBLE : RS.PLAIN;
    case ABI.SH_PAIRS:
      return hasWord(args(core, off, len, inline), 'WITHVALUES') ? RS.PAIRS : RS.PLAIN;
    case ABI.SH_ZPOP:
      return core.i32[r + ABI.REC_ARGC] > 2 ? RS.PAIRS_DOUBLE : RS.MEMBER_DOUBLE;
    case ABI.SH_SUBCMD: {
      const sub = arg1(core, r, base);
      if (sub === 'STREAM' || sub === 'STATS') return RS.MAP;
      if (sub === 'GROUPS' || sub === 'CONSUMERS') return RS.ARRAY_OF_MAPS;
      if (sub === 'DOCTOR') return RS.VERBATIM;
      return RS.PLAIN;
    }
    default:
      return shape;
  }
}
