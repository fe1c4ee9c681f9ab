// The memcached framer from JS: command ids, flags and reply kinds mirrored from assembly/memcache.ts
// (checked against the module's globals when it exports them) and a record reader. Grammar and
// error rules: the header comment of assembly/memcache.ts. The plain-TS reference decoders the
// tests hold the core to are in test/oracles/memcache.ts.
import { ABI } from './abi.js';
import type { Core } from './core.js';

/** Command ids (REC_CMD of a memcached request), as assembly/memcache.ts MC_CMD_*. */
export const MC_CMD = {
  UNKNOWN: 0, GET: 1, GETS: 2, SET: 3, ADD: 4, REPLACE: 5, APPEND: 6, PREPEND: 7, CAS: 8, INCR: 9, DECR: 10,
  DELETE: 11, TOUCH: 12, GAT: 13, GATS: 14, VERSION: 15, QUIT: 16, FLUSH_ALL: 17, STATS: 18, VERBOSITY: 19,
} as const;
export type McCommandName = Exclude<keyof typeof MC_CMD, 'UNKNOWN'>;
export const MC_CMD_COUNT = 20;

/** Wire names indexed by command id ('' for UNKNOWN). */
export const MC_COMMAND_NAMES: readonly string[] = Object.entries(MC_CMD)
  .sort((a, b) => a[1] - b[1])
  .map(([k, id]) => (id === 0 ? '' : k.toLowerCase()));

const RW_FRAGMENT = ABI.CF_READ | ABI.CF_FRAGMENT;
/** CF_* flags per command id (assembly/memcache.ts mcCmdFlags). gat/gats change TTLs: writes. */
export const MC_COMMAND_FLAGS: readonly number[] = [
  0, RW_FRAGMENT, RW_FRAGMENT,
  ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, // set..prepend, cas
  ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, // incr decr delete touch
  ABI.CF_WRITE | ABI.CF_FRAGMENT, ABI.CF_WRITE | ABI.CF_FRAGMENT, // gat gats
  ABI.CF_NOKEY, ABI.CF_QUIT | ABI.CF_PSEUDO, ABI.CF_NOKEY, ABI.CF_NOKEY, ABI.CF_NOKEY, // version quit flush_all stats verbosity
];

/** Message flag: the request ends in `noreply`. */
export const MF_NOREPLY = 1 << 18;
/** memcached's KEY_MAX_LENGTH. */
export const MC_MAX_KEY = 250;

/** REC_AUX of an MC_REPLY_STATUS record, by status word. */
export const MC_STATUS = {
  STORED: 1, NOT_STORED: 2, EXISTS: 3, NOT_FOUND: 4, DELETED: 5, TOUCHED: 6, OK: 7, RESET: 8,
} as const;
/** REC_AUX of an MC_REPLY_ERROR record, by first word. */
export const MC_ERROR_KIND = { ERROR: 1, CLIENT_ERROR: 2, SERVER_ERROR: 3 } as const;
/** Reply kind names by MC_REPLY_* id. */
export const MC_REPLY_KIND_NAMES: Readonly<Record<number, string>> = {
  [ABI.MC_REPLY_VALUE]: 'value', [ABI.MC_REPLY_STATUS]: 'status', [ABI.MC_REPLY_NUMBER]: 'number',
  [ABI.MC_REPLY_ERROR]: 'error', [ABI.MC_REPLY_VERSION]: 'version', [ABI.MC_REPLY_STAT]: 'stat',
};

/** The module-side names of every constant above, with their JS values. */
function mcConstants(): Record<string, number> {
  const out: Record<string, number> = { MC_CMD_COUNT, MF_NOREPLY, MC_MAX_KEY };
  for (const [k, v] of Object.entries(MC_CMD)) out[`MC_CMD_${k}`] = v;
  for (const [k, v] of Object.entries(MC_STATUS)) out[`MC_STATUS_${k}`] = v;
  out.MC_ERROR_PLAIN = MC_ERROR_KIND.ERROR;
  out.MC_ERROR_CLIENT = MC_ERROR_KIND.CLIENT_ERROR;
  out.MC_ERROR_SERVER = MC_ERROR_KIND.SERVER_ERROR;
  return out;
}

/**
 * Compares the constants above with the module's globals of the same names. Returns how many the
 * module exports (0 until index.ts re-exports assembly/memcache.ts); throws on any disagreement.
 */
export function checkMcConstants(core: Core): number {
  const raw = core.exports as unknown as Record<string, unknown>;
  let seen = 0;
  for (const [name, value] of Object.entries(mcConstants())) {
    const g = raw[name];
    if (!(g instanceof WebAssembly.Global)) continue;
    seen++;
    if (g.value !== value) throw new Error(`WASM core constant ${name} is ${g.value}, JS expects ${value}`);
  }
  return seen;
}

// ---- records ----

export interface McKey {
  off: number;
  len: number;
  /** Unsigned ring token. */
  token: number;
  arg: number;
}

/** A framed memcached request or reply in plain form (offsets relative to the framed range). */
export interface McRecord {
  start: number;
  len: number;
  cmd: number;
  flags: number;
  argc: number;
  nameOff: number;
  nameLen: number;
  keys: McKey[];
  /** Unsigned ring token of the first key (requests). */
  token: number;
  err: number;
  arg1Off: number;
  arg1Len: number;
  /** digest64 of the reply bytes (replies; 0n for requests). */
  digest: bigint;
  aux: number;
}

/** Reads the records (and their keys) of the last memcached framing call. */
export function readMcRecords(core: Core, count: number): McRecord[] {
  const w = core.i32;
  const out: McRecord[] = [];
  for (let i = 0; i < count; i++) {
    const r = (core.recPtr >> 2) + i * ABI.REC_WORDS;
    const first = w[r + ABI.REC_KEY_FIRST]!;
    const keys: McKey[] = [];
    for (let k = first; k < first + w[r + ABI.REC_NKEYS]!; k++) {
      const e = (core.keyPtr >> 2) + k * ABI.KEY_WORDS;
      keys.push({ off: w[e + ABI.KEY_OFF]!, len: w[e + ABI.KEY_LEN]!, token: w[e + ABI.KEY_TOKEN]! >>> 0, arg: w[e + ABI.KEY_ARG]! });
    }
    out.push({
      start: w[r + ABI.REC_START]!, len: w[r + ABI.REC_LEN]!, cmd: w[r + ABI.REC_CMD]!, flags: w[r + ABI.REC_FLAGS]!,
      argc: w[r + ABI.REC_ARGC]!, nameOff: w[r + ABI.REC_NAME_OFF]!, nameLen: w[r + ABI.REC_NAME_LEN]!, keys,
      token: w[r + ABI.REC_TOKEN]! >>> 0, err: w[r + ABI.REC_ERR]!, arg1Off: w[r + ABI.REC_ARG1_OFF]!,
      arg1Len: w[r + ABI.REC_ARG1_LEN]!, aux: w[r + ABI.REC_AUX]!,
      digest: (BigInt(w[r + ABI.REC_DIGEST_HI]! >>> 0) << 32n) | BigInt(w[r + ABI.REC_DIGEST_LO]! >>> 0),
    });
  }
  return out;
}
