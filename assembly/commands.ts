// The Redis command table: name -> id, flags, arity and key positions. One source of truth: the
// framers read it here, and TypeScript reads it at start-up (src/wasm/commands.ts), so there is no
// second list of commands anywhere.
//
// Arity and keys follow Redis 7 `COMMAND INFO`:
//   arity  > 0: exactly that many arguments, the name included; < 0: at least -arity.
//   keys   are the arguments at firstKey, firstKey+step, ... up to last, where
//          last = lastKey >= 0 ? lastKey : argc + lastKey (-1 = the last argument), and an index
//          >= argc is simply absent (OBJECT HELP, XINFO HELP: no key, routed like a keyless command).
//          step = 0 (and firstKey = lastKey = 0): the command has no key.
// Our conventions where Redis reports 0 0 0 ("movablekeys"):
//   CF_SCRIPT (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO): firstKey 3, lastKey 2, step 1. lastKey names the
//          numkeys argument: the keys are args 3 .. 2 + numkeys. The static range [3, 2] is empty, so
//          a framer that forgot CF_SCRIPT extracts no key instead of a wrong one.
//   numkeys-first commands (ZUNION ZINTER ZDIFF ZINTERCARD SINTERCARD LMPOP ZMPOP): firstKey =
//          lastKey = 2, step 1: only the first key is extracted; it is the routing key.
//   *STORE with numkeys (ZUNIONSTORE ZINTERSTORE ZDIFFSTORE dst numkeys k...): 1 1 1 as Redis says:
//          the destination routes. Multi-key commands that are not CF_FRAGMENT (SMOVE, RENAME, LMOVE,
//          SINTERSTORE, PFCOUNT a b ...) route by their first key, as Netflix does: keys of one such
//          command must share a hash tag to be correct across nodes.
//   XINFO, XGROUP, OBJECT, MEMORY: the key is the argument after the subcommand (2 2 1).
//
// Memory (static data, written once at module start by defineAll(), read-only afterwards):
//
//   NAMES  [id * 32]  name in lower case, zero padded to 32 bytes
//   MASKS  [id * 32]  0x20 at every letter position (the bits a case-insensitive compare ignores)
//   META   [id * 32]  +0 len  +4 flags  +8 arity  +12 firstKey  +16 lastKey  +20 step  +24 shape
//                     +28 merge
//   SLOTS  [h  *  2]  u16 id per hash slot, 0 = empty (open addressing, linear probing)
//
// cmdLookup hashes the first and last 8 bytes of the name with the 0x20 bit set in every byte (so
// both cases of a letter hash alike), probes SLOTS, and compares whole 8-byte words under the mask:
// (input ^ name) & ~mask == 0. No allocation, no byte loop, reads only [ptr, ptr + len).
import {
  CF_READ, CF_WRITE, CF_FRAGMENT, CF_NOKEY, CF_BROADCAST, CF_UNSUPPORTED, CF_PSEUDO, CF_SUBCMD,
  CF_SEARCH, CF_SCRIPT, CF_QUIT, CF_KV, SH_PLAIN, SH_MAP, SH_SET, SH_DOUBLE, SH_DOUBLES, SH_SCORES,
  SH_ZPOP, SH_PAIRS, SH_VERBATIM, SH_SUBCMD, SH_ZMPOP, SH_GEO, MG_NONE, MG_ARRAY, MG_SUM, MG_ALL_OK,
} from './layout';

/** Longest command name; longer names are unknown. */
const NAME_MAX: i32 = 32;
/** Table capacity (ids 1 .. MAX_CMDS-1). */
const MAX_CMDS: i32 = 512;
/** Hash slots: a power of two, at least twice MAX_CMDS so a probe always ends on an empty slot. */
const SLOT_COUNT: i32 = 1024;
const ENTRY: i32 = 32;

const NAMES: usize = memory.data(MAX_CMDS * ENTRY, 16);
const MASKS: usize = memory.data(MAX_CMDS * ENTRY, 16);
const META: usize = memory.data(MAX_CMDS * ENTRY, 16);
const SLOTS: usize = memory.data(SLOT_COUNT * 2, 16);

const M_LEN: i32 = 0;
const M_FLAGS: i32 = 4;
const M_ARITY: i32 = 8;
const M_FIRST: i32 = 12;
const M_LAST: i32 = 16;
const M_STEP: i32 = 20;
const M_SHAPE: i32 = 24;
const M_MERGE: i32 = 28;

const CASE_BITS: u64 = 0x2020202020202020;

let count: i32 = 0;
/** Definitions refused at start-up (duplicate, bad length, table full): cmdCount() reports them. */
let badDefinitions: i32 = 0;

// ---- lookup (hot path) ----

/** Bytes [p, p+len) for 1 <= len <= 7 as a zero-padded little-endian word, via overlapping loads. */
// @ts-ignore: decorator
@inline function loadShort(p: usize, len: i32): u64 {
  if (len >= 4) {
    return <u64>load<u32>(p) | (<u64>load<u32>(p + <usize>(len - 4)) << (<u64>(len - 4) << 3));
  }
  if (len >= 2) {
    return <u64>load<u16>(p) | (<u64>load<u16>(p + <usize>(len - 2)) << (<u64>(len - 2) << 3));
  }
  return <u64>load<u8>(p);
}

// @ts-ignore: decorator
@inline function slotOf(first: u64, last: u64, len: i32): i32 {
  let h = (first | CASE_BITS) * 0x9E3779B97F4A7C15;
  h ^= rotl<u64>((last | CASE_BITS) * 0xC2B2AE3D27D4EB4F, 29) ^ <u64>len;
  h ^= h >> 32;
  return <i32>h & (SLOT_COUNT - 1);
}

/** True when one 8-byte word of the input equals the stored lower-case word up to letter case. */
// @ts-ignore: decorator
@inline function wordMatches(input: u64, at: usize): bool {
  return ((input ^ load<u64>(NAMES + at)) & ~load<u64>(MASKS + at)) == 0;
}

function nameMatches(id: i32, p: usize, len: i32, first: u64): bool {
  const e = <usize>id * ENTRY;
  if (load<i32>(META + e, M_LEN) != len) return false;
  if (!wordMatches(first, e)) return false;
  if (len <= 8) return true;
  let off = 8;
  while (off + 8 < len) {
    if (!wordMatches(load<u64>(p + <usize>off), e + <usize>off)) return false;
    off += 8;
  }
  off = len - 8;
  return wordMatches(load<u64>(p + <usize>off), e + <usize>off);
}

/** Case-insensitive name -> id (1..count); 0 when unknown, empty, longer than 32 or out of memory. */
export function cmdLookup(ptr: usize, len: i32): i32 {
  if (<u32>(len - 1) >= <u32>NAME_MAX) return 0;
  if (<u64>ptr + <u64>len > (<u64>memory.size() << 16)) return 0;
  let first: u64, last: u64;
  if (len >= 8) {
    first = load<u64>(ptr);
    last = load<u64>(ptr + <usize>(len - 8));
  } else {
    first = loadShort(ptr, len);
    last = first;
  }
  let slot = slotOf(first, last, len);
  while (true) {
    const id = <i32>load<u16>(SLOTS + (<usize>slot << 1));
    if (id == 0) return 0;
    if (nameMatches(id, ptr, len, first)) return id;
    slot = (slot + 1) & (SLOT_COUNT - 1);
  }
  return 0;
}

// ---- per-id accessors (bad ids return 0) ----

// @ts-ignore: decorator
@inline function field(id: i32, off: i32): i32 {
  if (<u32>(id - 1) >= <u32>count) return 0;
  return load<i32>(META + <usize>id * ENTRY + <usize>off);
}

/** Number of commands (ids are 1..count); negative = -(definitions refused): a broken build. */
export function cmdCount(): i32 { return badDefinitions > 0 ? -badDefinitions : count; }
export function cmdFlags(id: i32): i32 { return field(id, M_FLAGS); }
export function cmdArity(id: i32): i32 { return field(id, M_ARITY); }
export function cmdFirstKey(id: i32): i32 { return field(id, M_FIRST); }
export function cmdLastKey(id: i32): i32 { return field(id, M_LAST); }
export function cmdKeyStep(id: i32): i32 { return field(id, M_STEP); }
/** SH_*: how the reply reads in RESP3 (layout.ts). */
export function cmdReplyShape(id: i32): i32 { return field(id, M_SHAPE); }
/** MG_*: how the replies of a CF_FRAGMENT command split per owner are merged (layout.ts). */
export function cmdMerge(id: i32): i32 { return field(id, M_MERGE); }

/** Writes the upper-case name of `id` at out and returns its length; 0 for a bad id or bad out. */
export function cmdNameCopy(id: i32, out: usize): i32 {
  const len = field(id, M_LEN);
  if (len == 0 || <u64>out + <u64>len > (<u64>memory.size() << 16)) return 0;
  const e = <usize>id * ENTRY;
  for (let i = 0; i < len; i++) {
    store<u8>(out + <usize>i, load<u8>(NAMES + e + <usize>i) ^ load<u8>(MASKS + e + <usize>i));
  }
  return len;
}

// ---- the table (start-up only) ----

function def(name: string, flags: i32, arity: i32, firstKey: i32, lastKey: i32, step: i32, shape: i32 = SH_PLAIN, merge: i32 = MG_NONE): void {
  const len = name.length;
  const id = count + 1;
  if (len < 1 || len > NAME_MAX || id >= MAX_CMDS) { badDefinitions++; return; }
  // A command split per owner needs a merge policy, and only such a command has one.
  if (((flags & CF_FRAGMENT) != 0) != (merge != MG_NONE)) { badDefinitions++; return; }
  const e = <usize>id * ENTRY;
  for (let i = 0; i < len; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c >= 0x61 && c <= 0x7a) store<u8>(MASKS + e + <usize>i, 0x20);
    store<u8>(NAMES + e + <usize>i, <u8>c);
  }
  if (cmdLookup(NAMES + e, len) != 0) {
    badDefinitions++;
    memory.fill(NAMES + e, 0, ENTRY);
    memory.fill(MASKS + e, 0, ENTRY);
    return;
  }
  const m = META + e;
  store<i32>(m, len, M_LEN);
  store<i32>(m, flags, M_FLAGS);
  store<i32>(m, arity, M_ARITY);
  store<i32>(m, firstKey, M_FIRST);
  store<i32>(m, lastKey, M_LAST);
  store<i32>(m, step, M_STEP);
  store<i32>(m, shape, M_SHAPE);
  store<i32>(m, merge, M_MERGE);
  count = id;
  const first = len >= 8 ? load<u64>(NAMES + e) : loadShort(NAMES + e, len);
  const last = len >= 8 ? load<u64>(NAMES + e + <usize>(len - 8)) : first;
  let slot = slotOf(first, last, len);
  while (load<u16>(SLOTS + (<usize>slot << 1)) != 0) slot = (slot + 1) & (SLOT_COUNT - 1);
  store<u16>(SLOTS + (<usize>slot << 1), <u16>id);
}

const R = CF_READ;
const W = CF_WRITE;
const FRAG = CF_FRAGMENT;
const NOKEY = CF_NOKEY;
const BCAST = CF_BROADCAST;
const UNSUP = CF_UNSUPPORTED;
const PSEUDO = CF_PSEUDO;
const SUB = CF_SUBCMD;
const FT = CF_SEARCH;
const SCRIPT = CF_SCRIPT;
const QUIT = CF_QUIT;
const KV = CF_KV;
// Reply shapes (the last column; absent = SH_PLAIN).
const MAP = SH_MAP;
const SET = SH_SET;
const DBL = SH_DOUBLE;
const DBLS = SH_DOUBLES;
const SCORES = SH_SCORES;
const ZPOP = SH_ZPOP;
const PAIRS = SH_PAIRS;
const VERB = SH_VERBATIM;
const BYSUB = SH_SUBCMD;
const PLAIN = SH_PLAIN;
// Merge policies of CF_FRAGMENT commands (after the shape; absent = MG_NONE).
const ARRAY = MG_ARRAY;
const SUM = MG_SUM;
const ALL_OK = MG_ALL_OK;

/**
 * Every command, one line each: name, flags, arity, firstKey, lastKey, step[, reply shape in RESP3
 * [, merge policy of a CF_FRAGMENT command]].
 * Read/write: Redis's own readonly/write flag, except where the proxy needs otherwise (noted).
 * Netflix misclassified SUNIONSTORE, ZUNIONSTORE, ZINTERSTORE as reads and TTL as a write; those
 * follow Redis here. Read | write (PFCOUNT alone) = a read that changes the stored bytes: replicated. Netflix fixed HSET at 4 arguments and left HSTRLEN / UNLINK without an
 * arity; Redis arities are used throughout (ZRANK / ZREVRANK as in 7.2: -3, for WITHSCORE).
 */
function defineAll(): void {
  // -- strings
  def('APPEND', W, 3, 1, 1, 1);
  def('DECR', W, 2, 1, 1, 1);
  def('DECRBY', W, 3, 1, 1, 1);
  def('GET', R, 2, 1, 1, 1);
  def('GETDEL', W, 2, 1, 1, 1);
  def('GETEX', W, -2, 1, 1, 1);
  def('GETRANGE', R, 4, 1, 1, 1);
  def('GETSET', W, 3, 1, 1, 1);
  def('INCR', W, 2, 1, 1, 1);
  def('INCRBY', W, 3, 1, 1, 1);
  def('INCRBYFLOAT', W, 3, 1, 1, 1);
  def('LCS', R, -3, 1, 2, 1, MAP);
  def('MGET', R | FRAG, -2, 1, -1, 1, PLAIN, ARRAY);
  def('MSET', W | FRAG | KV, -3, 1, -1, 2, PLAIN, ALL_OK);
  def('MSETNX', W, -3, 1, -1, 2); // all-or-nothing: cannot be split, routes by its first key
  def('PSETEX', W, 4, 1, 1, 1);
  def('SET', W, -3, 1, 1, 1);
  def('SETEX', W, 4, 1, 1, 1);
  def('SETNX', W, 3, 1, 1, 1);
  def('SETRANGE', W, 4, 1, 1, 1);
  def('STRLEN', R, 2, 1, 1, 1);
  def('SUBSTR', R, 4, 1, 1, 1);
  // -- keys / generic
  def('COPY', W, -3, 1, 2, 1);
  def('DEL', W | FRAG, -2, 1, -1, 1, PLAIN, SUM);
  def('DUMP', R, 2, 1, 1, 1);
  def('EXISTS', R | FRAG, -2, 1, -1, 1, PLAIN, SUM);
  def('EXPIRE', W, -3, 1, 1, 1);
  def('EXPIREAT', W, -3, 1, 1, 1);
  def('EXPIRETIME', R, 2, 1, 1, 1);
  def('MEMORY', R | SUB, -2, 2, 2, 1, BYSUB); // MEMORY USAGE key; MEMORY STATS/DOCTOR ...: keyless, local
  def('OBJECT', R | SUB, -2, 2, 2, 1); // OBJECT ENCODING key; OBJECT HELP: keyless, local
  def('PERSIST', W, 2, 1, 1, 1);
  def('PEXPIRE', W, -3, 1, 1, 1);
  def('PEXPIREAT', W, -3, 1, 1, 1);
  def('PEXPIRETIME', R, 2, 1, 1, 1);
  def('PTTL', R, 2, 1, 1, 1);
  def('RENAME', W, 3, 1, 2, 1);
  def('RENAMENX', W, 3, 1, 2, 1);
  def('RESTORE', W, -4, 1, 1, 1);
  def('SORT', W, -2, 1, 1, 1); // a write: SORT ... STORE dst must reach every replica
  def('SORT_RO', R, -2, 1, 1, 1);
  def('TOUCH', R | FRAG, -2, 1, -1, 1, PLAIN, SUM);
  def('TTL', R, 2, 1, 1, 1);
  def('TYPE', R, 2, 1, 1, 1);
  def('UNLINK', W | FRAG, -2, 1, -1, 1, PLAIN, SUM);
  // -- hashes
  def('HDEL', W, -3, 1, 1, 1);
  def('HEXISTS', R, 3, 1, 1, 1);
  def('HGET', R, 3, 1, 1, 1);
  def('HGETALL', R, 2, 1, 1, 1, MAP);
  def('HINCRBY', W, 4, 1, 1, 1);
  def('HINCRBYFLOAT', W, 4, 1, 1, 1);
  def('HKEYS', R, 2, 1, 1, 1);
  def('HLEN', R, 2, 1, 1, 1);
  def('HMGET', R, -3, 1, 1, 1);
  def('HMSET', W, -4, 1, 1, 1);
  def('HRANDFIELD', R, -2, 1, 1, 1, PAIRS);
  def('HSCAN', R, -3, 1, 1, 1);
  def('HSET', W, -4, 1, 1, 1);
  def('HSETNX', W, 4, 1, 1, 1);
  def('HSTRLEN', R, 3, 1, 1, 1);
  def('HVALS', R, 2, 1, 1, 1);
  // -- lists (blocking variants are refused below)
  def('LINDEX', R, 3, 1, 1, 1);
  def('LINSERT', W, 5, 1, 1, 1);
  def('LLEN', R, 2, 1, 1, 1);
  def('LMOVE', W, 5, 1, 2, 1);
  def('LMPOP', W, -4, 2, 2, 1); // numkeys key ...: routes by the first key
  def('LPOP', W, -2, 1, 1, 1);
  def('LPOS', R, -3, 1, 1, 1);
  def('LPUSH', W, -3, 1, 1, 1);
  def('LPUSHX', W, -3, 1, 1, 1);
  def('LRANGE', R, 4, 1, 1, 1);
  def('LREM', W, 4, 1, 1, 1);
  def('LSET', W, 4, 1, 1, 1);
  def('LTRIM', W, 4, 1, 1, 1);
  def('RPOP', W, -2, 1, 1, 1);
  def('RPOPLPUSH', W, 3, 1, 2, 1);
  def('RPUSH', W, -3, 1, 1, 1);
  def('RPUSHX', W, -3, 1, 1, 1);
  // -- sets
  def('SADD', W, -3, 1, 1, 1);
  def('SCARD', R, 2, 1, 1, 1);
  def('SDIFF', R, -2, 1, -1, 1, SET);
  def('SDIFFSTORE', W, -3, 1, -1, 1);
  def('SINTER', R, -2, 1, -1, 1, SET);
  def('SINTERCARD', R, -3, 2, 2, 1);
  def('SINTERSTORE', W, -3, 1, -1, 1);
  def('SISMEMBER', R, 3, 1, 1, 1);
  def('SMEMBERS', R, 2, 1, 1, 1, SET);
  def('SMISMEMBER', R, -3, 1, 1, 1);
  def('SMOVE', W, 4, 1, 2, 1);
  def('SPOP', W, -2, 1, 1, 1, SET);
  def('SRANDMEMBER', R, -2, 1, 1, 1);
  def('SREM', W, -3, 1, 1, 1);
  def('SSCAN', R, -3, 1, 1, 1);
  def('SUNION', R, -2, 1, -1, 1, SET);
  def('SUNIONSTORE', W, -3, 1, -1, 1); // Netflix: read
  // -- sorted sets
  def('ZADD', W, -4, 1, 1, 1, DBL);
  def('ZCARD', R, 2, 1, 1, 1);
  def('ZCOUNT', R, 4, 1, 1, 1);
  def('ZDIFF', R, -3, 2, 2, 1, SCORES);
  def('ZDIFFSTORE', W, -4, 1, 1, 1);
  def('ZINCRBY', W, 4, 1, 1, 1, DBL);
  def('ZINTER', R, -3, 2, 2, 1, SCORES);
  def('ZINTERCARD', R, -3, 2, 2, 1);
  def('ZINTERSTORE', W, -4, 1, 1, 1); // Netflix: read
  def('ZLEXCOUNT', R, 4, 1, 1, 1);
  def('ZMPOP', W, -4, 2, 2, 1, SH_ZMPOP);
  def('ZMSCORE', R, -3, 1, 1, 1, DBLS);
  def('ZPOPMAX', W, -2, 1, 1, 1, ZPOP);
  def('ZPOPMIN', W, -2, 1, 1, 1, ZPOP);
  def('ZRANDMEMBER', R, -2, 1, 1, 1, SCORES);
  def('ZRANGE', R, -4, 1, 1, 1, SCORES);
  def('ZRANGEBYLEX', R, -4, 1, 1, 1);
  def('ZRANGEBYSCORE', R, -4, 1, 1, 1, SCORES);
  def('ZRANGESTORE', W, -5, 1, 2, 1);
  def('ZRANK', R, -3, 1, 1, 1);
  def('ZREM', W, -3, 1, 1, 1);
  def('ZREMRANGEBYLEX', W, 4, 1, 1, 1);
  def('ZREMRANGEBYRANK', W, 4, 1, 1, 1);
  def('ZREMRANGEBYSCORE', W, 4, 1, 1, 1);
  def('ZREVRANGE', R, -4, 1, 1, 1, SCORES);
  def('ZREVRANGEBYLEX', R, -4, 1, 1, 1);
  def('ZREVRANGEBYSCORE', R, -4, 1, 1, 1, SCORES);
  def('ZREVRANK', R, -3, 1, 1, 1);
  def('ZSCAN', R, -3, 1, 1, 1);
  def('ZSCORE', R, 3, 1, 1, 1, DBL);
  def('ZUNION', R, -3, 2, 2, 1, SCORES);
  def('ZUNIONSTORE', W, -4, 1, 1, 1); // Netflix: read
  // -- HyperLogLog (PFCOUNT of several keys is a union: not splittable, routes by its first key)
  def('PFADD', W, -2, 1, 1, 1);
  // PFCOUNT reads, but rewrites the HyperLogLog's cached cardinality (Redis: may-replicate): R | W
  // sends it to every replica like a write, so the replicas keep the same bytes (their DUMPs would
  // differ otherwise), while read-only users may still run it. Netflix: a write.
  def('PFCOUNT', R | W, -2, 1, -1, 1);
  def('PFMERGE', W, -2, 1, -1, 1);
  // -- geo (GEORADIUS* without _RO accept STORE: writes, as in Redis)
  def('GEOADD', W, -5, 1, 1, 1);
  def('GEODIST', R, -4, 1, 1, 1);
  def('GEOHASH', R, -2, 1, 1, 1);
  def('GEOPOS', R, -2, 1, 1, 1, DBLS);
  def('GEORADIUS', W, -6, 1, 1, 1, SH_GEO);
  def('GEORADIUS_RO', R, -6, 1, 1, 1, SH_GEO);
  def('GEORADIUSBYMEMBER', W, -5, 1, 1, 1, SH_GEO);
  def('GEORADIUSBYMEMBER_RO', R, -5, 1, 1, 1, SH_GEO);
  def('GEOSEARCH', R, -7, 1, 1, 1, SH_GEO);
  def('GEOSEARCHSTORE', W, -8, 1, 2, 1);
  // -- bits
  def('BITCOUNT', R, -2, 1, 1, 1);
  def('BITFIELD', W, -2, 1, 1, 1);
  def('BITFIELD_RO', R, -2, 1, 1, 1);
  def('BITOP', W, -4, 2, -1, 1); // BITOP op dest src...: the destination routes
  def('BITPOS', R, -3, 1, 1, 1);
  def('GETBIT', R, 3, 1, 1, 1);
  def('SETBIT', W, 4, 1, 1, 1);
  // -- streams. XADD with an automatic id (*) gets a different id on each replica: use explicit ids
  // where replicas must agree. XREAD / XREADGROUP are refused below (BLOCK, keys after STREAMS).
  def('XACK', W, -4, 1, 1, 1);
  def('XADD', W, -5, 1, 1, 1);
  def('XAUTOCLAIM', W, -6, 1, 1, 1);
  def('XCLAIM', W, -6, 1, 1, 1);
  def('XDEL', W, -3, 1, 1, 1);
  def('XGROUP', W | SUB, -2, 2, 2, 1);
  def('XINFO', R | SUB, -2, 2, 2, 1, BYSUB);
  def('XLEN', R, 2, 1, 1, 1);
  def('XPENDING', R, -3, 1, 1, 1);
  def('XRANGE', R, -4, 1, 1, 1);
  def('XREVRANGE', R, -4, 1, 1, 1);
  def('XSETID', W, -3, 1, 1, 1);
  def('XTRIM', W, -4, 1, 1, 1);
  // -- scripting: keys counted by numkeys (see the header). SCRIPT LOAD/FLUSH/KILL are broadcast
  // by the proxy, SCRIPT EXISTS goes to the local datastore: the subcommand decides.
  def('EVAL', W | SCRIPT, -3, 3, 2, 1);
  def('EVALSHA', W | SCRIPT, -3, 3, 2, 1);
  def('EVAL_RO', R | SCRIPT, -3, 3, 2, 1);
  def('EVALSHA_RO', R | SCRIPT, -3, 3, 2, 1);
  def('SCRIPT', NOKEY | SUB | BCAST, -2, 0, 0, 0);
  // -- RedisJSON (module commands: arities from the documented syntax). JSON.MGET's keys are every
  // argument but the path; JSON.MSET is atomic: neither is split, both route by the first key.
  def('JSON.ARRAPPEND', W, -3, 1, 1, 1);
  def('JSON.ARRINDEX', R, -4, 1, 1, 1);
  def('JSON.ARRINSERT', W, -5, 1, 1, 1);
  def('JSON.ARRLEN', R, -2, 1, 1, 1);
  def('JSON.ARRPOP', W, -2, 1, 1, 1);
  def('JSON.ARRTRIM', W, 5, 1, 1, 1);
  def('JSON.CLEAR', W, -2, 1, 1, 1);
  def('JSON.DEBUG', R | SUB, -2, 2, 2, 1);
  def('JSON.DEL', W, -2, 1, 1, 1);
  def('JSON.FORGET', W, -2, 1, 1, 1);
  def('JSON.GET', R, -2, 1, 1, 1);
  def('JSON.MERGE', W, 4, 1, 1, 1);
  def('JSON.MGET', R, -3, 1, -2, 1);
  def('JSON.MSET', W, -4, 1, -1, 3);
  def('JSON.NUMINCRBY', W, 4, 1, 1, 1);
  def('JSON.NUMMULTBY', W, 4, 1, 1, 1);
  def('JSON.OBJKEYS', R, -2, 1, 1, 1);
  def('JSON.OBJLEN', R, -2, 1, 1, 1);
  def('JSON.RESP', R, -2, 1, 1, 1);
  def('JSON.SET', W, -4, 1, 1, 1);
  def('JSON.STRAPPEND', W, -3, 1, 1, 1);
  def('JSON.STRLEN', R, -2, 1, 1, 1);
  def('JSON.TOGGLE', W, 3, 1, 1, 1);
  def('JSON.TYPE', R, -2, 1, 1, 1);
  // -- RediSearch (CF_SEARCH). An index name is not a key: keyless. Schema changes carry
  // CF_BROADCAST (every node indexes its own documents); queries are scattered by the search layer.
  // FT.SUG* take a real key (the suggestion dictionary is a Redis key) and route by it.
  def('FT._LIST', R | FT, 1, 0, 0, 0);
  def('FT.AGGREGATE', R | FT, -3, 0, 0, 0);
  def('FT.ALIASADD', W | FT | BCAST, 3, 0, 0, 0);
  def('FT.ALIASDEL', W | FT | BCAST, 2, 0, 0, 0);
  def('FT.ALIASUPDATE', W | FT | BCAST, 3, 0, 0, 0);
  def('FT.ALTER', W | FT | BCAST, -6, 0, 0, 0);
  def('FT.CONFIG', R | FT | SUB, -3, 0, 0, 0);
  def('FT.CREATE', W | FT | BCAST, -5, 0, 0, 0);
  def('FT.DICTADD', W | FT | BCAST, -3, 0, 0, 0);
  def('FT.DICTDEL', W | FT | BCAST, -3, 0, 0, 0);
  def('FT.DICTDUMP', R | FT, 2, 0, 0, 0);
  def('FT.DROPINDEX', W | FT | BCAST, -2, 0, 0, 0);
  def('FT.EXPLAIN', R | FT, -3, 0, 0, 0);
  def('FT.EXPLAINCLI', R | FT, -3, 0, 0, 0);
  def('FT.INFO', R | FT, 2, 0, 0, 0);
  def('FT.PROFILE', R | FT, -5, 0, 0, 0);
  def('FT.SEARCH', R | FT, -3, 0, 0, 0);
  def('FT.SPELLCHECK', R | FT, -3, 0, 0, 0);
  def('FT.SUGADD', W | FT, -4, 1, 1, 1);
  def('FT.SUGDEL', W | FT, 3, 1, 1, 1);
  def('FT.SUGGET', R | FT, -3, 1, 1, 1);
  def('FT.SUGLEN', R | FT, 2, 1, 1, 1);
  def('FT.SYNDUMP', R | FT, 2, 0, 0, 0);
  def('FT.SYNUPDATE', W | FT | BCAST, -4, 0, 0, 0);
  def('FT.TAGVALS', R | FT, 3, 0, 0, 0);
  def('FT.CURSOR', R | FT | SUB, -4, 0, 0, 0); // a cursor lives on the node that answered its FT.AGGREGATE
  // -- keyless admin: answered by the local datastore, as Netflix does (KEYS, SCAN, DBSIZE and
  // RANDOMKEY therefore see one node's data). FLUSHALL / FLUSHDB go to every node: flushing one
  // node of a replicated cluster would only leave the replicas inconsistent.
  def('DBSIZE', R | NOKEY, 1, 0, 0, 0);
  def('FLUSHALL', W | NOKEY | BCAST, -1, 0, 0, 0);
  def('FLUSHDB', W | NOKEY | BCAST, -1, 0, 0, 0);
  def('KEYS', R | NOKEY, 2, 0, 0, 0);
  def('LASTSAVE', R | NOKEY, 1, 0, 0, 0);
  def('LATENCY', NOKEY | SUB, -2, 0, 0, 0, BYSUB);
  def('LOLWUT', R | NOKEY, -1, 0, 0, 0, VERB);
  def('PING', R | NOKEY, -1, 0, 0, 0);
  def('RANDOMKEY', R | NOKEY, 1, 0, 0, 0);
  def('ROLE', R | NOKEY, 1, 0, 0, 0);
  def('SCAN', R | NOKEY, -2, 0, 0, 0);
  def('SLOWLOG', NOKEY | SUB, -2, 0, 0, 0);
  def('TIME', R | NOKEY, 1, 0, 0, 0);
  // -- answered by the proxy itself (connection state, the node's own view; src/net/conn-commands.ts).
  // INFO adds the datastore's sections and CONFIG forwards what is not GET: both keep NOKEY for that.
  def('DYNO_CONFIG:CONN_CONSISTENCY', PSEUDO, 2, 0, 0, 0);
  def('QUIT', PSEUDO | QUIT, -1, 0, 0, 0);
  def('HELLO', PSEUDO, -1, 0, 0, 0, MAP);
  def('AUTH', PSEUDO, -2, 0, 0, 0);
  def('CLIENT', PSEUDO | SUB, -2, 0, 0, 0);
  def('SELECT', PSEUDO, 2, 0, 0, 0);
  def('RESET', PSEUDO, 1, 0, 0, 0);
  def('ECHO', PSEUDO | R | NOKEY, 2, 0, 0, 0);
  def('COMMAND', PSEUDO | R | NOKEY | SUB, -1, 0, 0, 0);
  def('INFO', PSEUDO | R | NOKEY, -1, 0, 0, 0, VERB);
  def('CONFIG', PSEUDO | NOKEY | SUB, -2, 0, 0, 0, MAP);
  // Transactions: queued by the node, sent to the datastore as one MULTI ... EXEC block at EXEC
  // (src/net/transaction.ts). WATCH keeps Redis's keys: they route the transaction.
  def('MULTI', PSEUDO | NOKEY, 1, 0, 0, 0);
  def('EXEC', PSEUDO | NOKEY, 1, 0, 0, 0);
  def('DISCARD', PSEUDO | NOKEY, 1, 0, 0, 0);
  def('WATCH', PSEUDO | R, -2, 1, -1, 1);
  def('UNWATCH', PSEUDO | NOKEY, 1, 0, 0, 0);
  // A transaction's block between nodes (src/dispatch/cluster-tx.ts): DYNO_TX key request... ;
  // routed by its key like a write. Refused from clients.
  def('DYNO_TX', PSEUDO | W, -4, 1, 1, 1);
  // A hint replayed to a dynomite-ts peer (src/repair/hint-apply.ts): DYNO_HINT <origin ms> <request>;
  // the peer applies the request unless its journal holds a newer write of a key. Refused from clients.
  def('DYNO_HINT', PSEUDO | W | NOKEY, 3, 0, 0, 0);
  // Pub/sub: the node keeps its own clients' subscriptions and relays PUBLISH to its peers
  // (src/net/pubsub.ts). SSUBSCRIBE / SPUBLISH keep Redis's key positions (the channel) for the docs.
  def('SUBSCRIBE', PSEUDO, -2, 0, 0, 0);
  def('PSUBSCRIBE', PSEUDO, -2, 0, 0, 0);
  def('SSUBSCRIBE', PSEUDO, -2, 1, -1, 1);
  def('UNSUBSCRIBE', PSEUDO, -1, 0, 0, 0);
  def('PUNSUBSCRIBE', PSEUDO, -1, 0, 0, 0);
  def('SUNSUBSCRIBE', PSEUDO, -1, 1, -1, 1);
  def('PUBLISH', PSEUDO, 3, 0, 0, 0);
  def('SPUBLISH', PSEUDO, 3, 1, 1, 1);
  def('PUBSUB', PSEUDO | SUB, -2, 0, 0, 0);
  // -- refused: `-ERR unknown or unsupported command 'X'`, the connection stays usable. Arity and
  // keys are Redis's, kept for the docs and the cross-check only.
  // Backend connections are shared by many clients, so per-connection server state cannot be had:
  // databases (SWAPDB MOVE: the proxy has one),
  // cluster-client state (READONLY, READWRITE, ASKING). Blocking commands would stall every client queued behind them
  // on the shared connection and outlive the proxy's timeout. Replication, persistence and server
  // administration belong to the operator, not to proxy clients. FUNCTION / FCALL: libraries are
  // not replicated by the proxy (use EVAL / SCRIPT LOAD).
  def('SWAPDB', UNSUP, 3, 0, 0, 0);
  def('MOVE', UNSUP, 3, 1, 1, 1);
  def('READONLY', UNSUP, 1, 0, 0, 0);
  def('READWRITE', UNSUP, 1, 0, 0, 0);
  def('ASKING', UNSUP, 1, 0, 0, 0);
  def('CLUSTER', UNSUP, -2, 0, 0, 0);
  def('BLPOP', UNSUP, -3, 1, -2, 1);
  def('BRPOP', UNSUP, -3, 1, -2, 1);
  def('BRPOPLPUSH', UNSUP, 4, 1, 2, 1);
  def('BLMOVE', UNSUP, 6, 1, 2, 1);
  def('BLMPOP', UNSUP, -5, 0, 0, 0);
  def('BZPOPMIN', UNSUP, -3, 1, -2, 1);
  def('BZPOPMAX', UNSUP, -3, 1, -2, 1);
  def('BZMPOP', UNSUP, -5, 0, 0, 0);
  def('XREAD', UNSUP, -4, 0, 0, 0);
  def('XREADGROUP', UNSUP, -7, 0, 0, 0);
  def('WAIT', UNSUP, 3, 0, 0, 0);
  def('MONITOR', UNSUP, 1, 0, 0, 0);
  def('SYNC', UNSUP, 1, 0, 0, 0);
  def('PSYNC', UNSUP, -3, 0, 0, 0);
  def('REPLCONF', UNSUP, -1, 0, 0, 0);
  def('REPLICAOF', UNSUP, 3, 0, 0, 0);
  def('SLAVEOF', UNSUP, 3, 0, 0, 0);
  def('FAILOVER', UNSUP, -1, 0, 0, 0);
  def('SAVE', UNSUP, 1, 0, 0, 0);
  def('BGSAVE', UNSUP, -1, 0, 0, 0);
  def('BGREWRITEAOF', UNSUP, 1, 0, 0, 0);
  def('SHUTDOWN', UNSUP, -1, 0, 0, 0);
  def('DEBUG', UNSUP, -2, 0, 0, 0);
  def('MODULE', UNSUP, -2, 0, 0, 0);
  def('ACL', UNSUP, -2, 0, 0, 0);
  def('MIGRATE', UNSUP, -6, 3, 3, 1);
  def('RESTORE-ASKING', UNSUP, -4, 1, 1, 1);
  def('PFDEBUG', UNSUP, 3, 2, 2, 1);
  def('PFSELFTEST', UNSUP, 1, 0, 0, 0);
  def('FUNCTION', UNSUP, -2, 0, 0, 0);
  def('FCALL', UNSUP, -3, 0, 0, 0);
  def('FCALL_RO', UNSUP, -3, 0, 0, 0);
}

defineAll();
