// The memory map and every record layout shared with JS. One source: index.ts re-exports these
// constants as WASM globals, and src/wasm/abi.ts checks at load time that its own copies match.
//
// Linear memory after init() (all regions allocated once, at start-up; never grown afterwards):
//
//   +-----------+----------------+-------------+-----------+------------+------------------+
//   | AS static | RESULT block   | RECORD tbl  | KEY tbl   | CONN slab  | STAGING           | MBUF pool ...
//   | data      | RES_SIZE bytes | recCap*64 B | keyCap*16 | conns*64 B | stagingBytes      | mbufCount*mbufSize
//   +-----------+----------------+-------------+-----------+------------+------------------+
//
// A framing call reads bytes [ptr, ptr+len) (normally inside STAGING), writes one RECORD per
// complete message and KEY entries for its keys, and its summary into the RESULT block. The record
// and key tables are per call: JS reads them before the next call.

/** Bumped whenever a layout, an export or a code below changes meaning. */
export const ABI_VERSION: i32 = 1;

// ---- RESULT block: i32 fields at res_ptr() ----
/** Bytes of the input consumed: the end of the last complete message, relative to ptr. */
export const RES_CONSUMED: i32 = 0;
/** When a message is incomplete: total bytes it needs from its start, at least (0 = unknown yet). */
export const RES_NEED: i32 = 4;
/** On a protocol error: byte position of the error, relative to ptr. */
export const RES_ERR_POS: i32 = 8;
/** On a protocol error: one of the E_* reason codes. */
export const RES_ERR_CODE: i32 = 12;
/** Key table entries written by this call. */
export const RES_NKEYS: i32 = 16;
/** RES_MORE bits. */
export const RES_FLAGS: i32 = 20;
/** Records written by the call; also valid when it failed (the complete messages before the error). */
export const RES_COUNT: i32 = 24;
export const RES_SIZE: i32 = 64;

/** RES_FLAGS: the record or key table filled up; call again from RES_CONSUMED. */
export const RES_MORE: i32 = 1;

// ---- RECORD: 16 x i32 per message at rec_ptr() + i * REC_SIZE ----
//
//   +0 START  +4 LEN  +8 CMD  +12 FLAGS  +16 ARGC  +20 NAME_OFF  +24 NAME_LEN  +28 KEY_FIRST
//  +32 NKEYS +36 TOKEN +40 ERR +44 ARG1_OFF +48 ARG1_LEN +52 DIGEST_LO +56 DIGEST_HI +60 AUX
//
// Request mode (RESP and memcached): CMD = command id, FLAGS = command flags | message flags,
// ARGC = arguments including the name, NAME = the command name span, KEY_FIRST/NKEYS = its keys in
// the key table, TOKEN = ring token of the first key (0 when keyless), ERR = ERR_* (the message is
// framed but must be answered with an error), ARG1 = span of the first argument after the name
// (subcommands such as SCRIPT LOAD, DYNO_CONFIG levels; -1 when absent).
// Reply mode: CMD = reply type byte ('+','-',':','$','*', memcached: MC_REPLY_*), ARGC = element
// count of an array or length of a bulk (-1 = nil), KEY_FIRST/NKEYS = the spans of the top-level
// array elements in the key table, DIGEST = 64-bit reply equivalence key of the message bytes.
// dnode mode: see DN_* below.
// Offsets (START, NAME_OFF, ARG1_OFF, key offsets) are relative to the ptr passed to the call.
export const REC_START: i32 = 0;
export const REC_LEN: i32 = 1;
export const REC_CMD: i32 = 2;
export const REC_FLAGS: i32 = 3;
export const REC_ARGC: i32 = 4;
export const REC_NAME_OFF: i32 = 5;
export const REC_NAME_LEN: i32 = 6;
export const REC_KEY_FIRST: i32 = 7;
export const REC_NKEYS: i32 = 8;
export const REC_TOKEN: i32 = 9;
export const REC_ERR: i32 = 10;
export const REC_ARG1_OFF: i32 = 11;
export const REC_ARG1_LEN: i32 = 12;
export const REC_DIGEST_LO: i32 = 13;
export const REC_DIGEST_HI: i32 = 14;
export const REC_AUX: i32 = 15;
/** Record size in i32 words and in bytes. */
export const REC_WORDS: i32 = 16;
export const REC_SIZE: i32 = 64;

// ---- KEY entry: 4 x i32 at key_ptr() + i * KEY_SIZE ----
//   +0 OFF (relative to ptr)  +4 LEN  +8 TOKEN (u32 ring token of the routing key)  +12 ARG (argument index)
export const KEY_OFF: i32 = 0;
export const KEY_LEN: i32 = 1;
export const KEY_TOKEN: i32 = 2;
export const KEY_ARG: i32 = 3;
export const KEY_WORDS: i32 = 4;
export const KEY_SIZE: i32 = 16;

// ---- Per-connection framer state: CONN_SIZE bytes at conn_ptr(slot) ----
//   +0 MODE (FRAMER_*)  +4 NEED (bytes the partial message needs)  +8 STICKY_ERR (E_* once broken)
//  +12 MESSAGES (messages framed, wraps)  +16..59 reserved for the framers
//  +60 NO_DIGEST (set by the host: nonzero = the reply framers leave REC_DIGEST_* at 0 for this
//      connection; a host that reads no digests of it saves one XXH64 pass per reply)
export const CONN_MODE: i32 = 0;
export const CONN_NEED: i32 = 4;
export const CONN_ERR: i32 = 8;
export const CONN_MESSAGES: i32 = 12;
export const CONN_NO_DIGEST: i32 = 60;
export const CONN_SIZE: i32 = 64;

export const FRAMER_RESP_REQ: i32 = 1;
export const FRAMER_RESP_REP: i32 = 2;
export const FRAMER_MC_REQ: i32 = 3;
export const FRAMER_MC_REP: i32 = 4;
export const FRAMER_DNODE: i32 = 5;

// ---- MBUF: fixed-size slots; header then data ----
//   +0 NEXT (ptr of the next mbuf in a chain, 0 = end)  +4 POS (read position)  +8 LAST (write position)
//  +12 REFS  | data: mbufSize - MBUF_HDR bytes
export const MBUF_NEXT: i32 = 0;
export const MBUF_POS: i32 = 4;
export const MBUF_LAST: i32 = 8;
export const MBUF_REFS: i32 = 12;
export const MBUF_HDR: i32 = 16;

// ---- Framing call statuses (negative return values) ----
/** Malformed input; RES_ERR_POS / RES_ERR_CODE say where and why. The connection cannot resync. */
export const ST_PROTOCOL: i32 = -1;
/** Bad arguments to the call (conn slot out of range, range outside memory, not initialised). */
export const ST_BADARG: i32 = -2;

// ---- Protocol error reasons (RES_ERR_CODE) ----
export const E_NONE: i32 = 0;
export const E_BAD_TYPE: i32 = 1; // unexpected type byte
export const E_BAD_LENGTH: i32 = 2; // non-numeric or negative length / count
export const E_TOO_LARGE: i32 = 3; // bulk or multibulk over the configured limit
export const E_EXPECTED_CRLF: i32 = 4; // missing \r\n after a token or payload
export const E_TOO_DEEP: i32 = 5; // reply nesting deeper than MAX_DEPTH
export const E_INLINE_TOO_LONG: i32 = 6; // inline / text line without \n within the limit
export const E_BAD_INLINE: i32 = 7; // unbalanced quotes in an inline command
export const E_BAD_MC: i32 = 8; // malformed memcached line
export const E_BAD_DNODE: i32 = 9; // malformed dnode header after the magic
export const E_EMPTY: i32 = 10; // empty multibulk request where a command is required

// ---- Per-message errors (REC_ERR): framed, but answered with an error by the proxy ----
export const ERR_NONE: i32 = 0;
export const ERR_UNKNOWN_CMD: i32 = 1;
export const ERR_ARITY: i32 = 2;
export const ERR_UNSUPPORTED: i32 = 3;
export const ERR_EVAL_NOKEYS: i32 = 4; // EVAL/EVALSHA without a key, or a bad numkeys
export const ERR_TOO_MANY_KEYS: i32 = 5; // more keys than the key table holds
export const ERR_BAD_NUMBER: i32 = 6; // a numeric argument the framer needs (numkeys) is not a number

// ---- Command flags (REC_FLAGS low 16 bits; from the command table) ----
export const CF_READ: i32 = 1;
export const CF_WRITE: i32 = 2;
export const CF_FRAGMENT: i32 = 4; // split per key and merged (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH, mc get)
export const CF_NOKEY: i32 = 8; // keyless: goes to the local datastore
export const CF_BROADCAST: i32 = 16; // goes to every node (SCRIPT LOAD/FLUSH/KILL)
export const CF_UNSUPPORTED: i32 = 32; // known but refused (MULTI, SELECT, SUBSCRIBE ...)
export const CF_PSEUDO: i32 = 64; // answered by the proxy itself (DYNO_CONFIG:*, QUIT)
export const CF_SUBCMD: i32 = 128; // behaviour depends on ARG1 (SCRIPT, CONFIG ...)
export const CF_SEARCH: i32 = 256; // FT.*
export const CF_SCRIPT: i32 = 512; // EVAL / EVALSHA: keys counted by numkeys
export const CF_QUIT: i32 = 1024; // close after replying
export const CF_KV: i32 = 2048; // key-value pairs (MSET): each key is followed by its value

// ---- Reply shapes (command table column, cmdReplyShape): how a RESP2 reply of the command reads
// in RESP3, as Redis 7 answers a HELLO 3 client. The datastore and the peers always answer RESP2;
// a RESP3 client's replies are converted by this shape (nil -> `_` for every shape).
export const SH_PLAIN: i32 = 0; // as in RESP2 (arrays stay arrays), nils become `_`
export const SH_MAP: i32 = 1; // flat [k, v, k, v ...] array -> map (HGETALL, CONFIG GET, LCS IDX)
export const SH_SET: i32 = 2; // array -> set (SMEMBERS, SINTER, SUNION, SDIFF, SPOP count)
export const SH_DOUBLE: i32 = 3; // bulk -> double (ZSCORE, ZINCRBY, ZADD INCR)
export const SH_DOUBLES: i32 = 4; // every bulk, at any depth -> double (ZMSCORE, GEOPOS)
export const SH_SCORES: i32 = 5; // with WITHSCORES: flat [m, s ...] -> [[m, double] ...] (ZRANGE family)
export const SH_ZPOP: i32 = 6; // ZPOPMIN/MAX: [m, double], with a count [[m, double] ...]
export const SH_PAIRS: i32 = 7; // with WITHVALUES: flat [f, v ...] -> [[f, v] ...] (HRANDFIELD)
export const SH_VERBATIM: i32 = 8; // bulk -> verbatim string `=N\r\ntxt:...` (LOLWUT, ... DOCTOR)
export const SH_SUBCMD: i32 = 9; // decided by the subcommand (XINFO, MEMORY, LATENCY)
export const SH_ZMPOP: i32 = 10; // [key, [[m, s] ...]] -> scores as doubles (ZMPOP)
export const SH_GEO: i32 = 11; // GEORADIUS / GEOSEARCH items: coordinates WITHCOORD -> doubles

// ---- Merge policies (command table column, cmdMerge / mcCmdMerge): how the replies of a CF_FRAGMENT
// command split per owner group are merged into the one reply its client gets. The first error
// reply (in fragment order) wins over every policy.
export const MG_NONE: i32 = 0; // not split: routed by its first key
export const MG_ARRAY: i32 = 1; // one array, every element at its key's position (MGET)
export const MG_SUM: i32 = 2; // the sum of the integer replies (DEL, UNLINK, EXISTS, TOUCH)
export const MG_ALL_OK: i32 = 3; // +OK when every fragment said +OK, else the first other reply (MSET)
export const MG_MC_VALUES: i32 = 4; // memcached VALUE items in the client's key order, then END (get, gets)

// Message flags (REC_FLAGS high bits, set by the framer)
export const MF_INLINE: i32 = 1 << 16; // inline command (no multibulk)
export const MF_EMPTY_TAG: i32 = 1 << 17; // hash_tag configured, present but empty: whole key hashed
export const MF_NOREPLY: i32 = 1 << 18; // memcached `noreply`: the datastore answers nothing

// ---- Reply kinds for memcached replies (REC_CMD in MC reply mode) ----
export const MC_REPLY_VALUE: i32 = 1; // VALUE ... END (also a bare END: zero values)
export const MC_REPLY_STATUS: i32 = 2; // STORED, NOT_STORED, EXISTS, NOT_FOUND, DELETED, TOUCHED, OK
export const MC_REPLY_NUMBER: i32 = 3; // incr/decr result
export const MC_REPLY_ERROR: i32 = 4; // ERROR, CLIENT_ERROR ..., SERVER_ERROR ...
export const MC_REPLY_VERSION: i32 = 5; // VERSION x
export const MC_REPLY_STAT: i32 = 6; // STAT ... END

// ---- dnode records (FRAMER_DNODE): the same 16-word slots, other meanings ----
//   START, LEN = whole message (header + payload); CMD = DN type; FLAGS = DN flags;
//   ARGC = version; NAME_OFF/NAME_LEN = data span; KEY_FIRST = payload offset; NKEYS = payload length;
//   TOKEN = same_dc; ERR = bytes skipped to resync before this message; ARG1_OFF = msg_id low 32 bits,
//   ARG1_LEN = msg_id high 32 bits; AUX = header length.
export const DN_TYPE_UNKNOWN: i32 = 0;
export const DN_TYPE_DEBUG: i32 = 1;
export const DN_TYPE_PARSE_ERROR: i32 = 2;
export const DN_TYPE_REQ: i32 = 3;
export const DN_TYPE_REQ_FORWARD: i32 = 4;
export const DN_TYPE_RES: i32 = 5;
export const DN_TYPE_CRYPTO_HANDSHAKE: i32 = 6;
export const DN_TYPE_GOSSIP_SYN: i32 = 7;
export const DN_TYPE_GOSSIP_SYN_REPLY: i32 = 8;
export const DN_TYPE_GOSSIP_ACK: i32 = 9;
export const DN_TYPE_GOSSIP_DIGEST_SYN: i32 = 10;
export const DN_TYPE_GOSSIP_DIGEST_ACK: i32 = 11;
export const DN_TYPE_GOSSIP_DIGEST_ACK2: i32 = 12;
export const DN_TYPE_GOSSIP_SHUTDOWN: i32 = 13;
export const DN_FLAG_ENCRYPTED: i32 = 1;
export const DN_FLAG_COMPRESSED: i32 = 2;

// ---- Hash algorithm ids (Netflix hash_type order) ----
export const HASH_ONE_AT_A_TIME: i32 = 0;
export const HASH_MD5: i32 = 1;
export const HASH_CRC16: i32 = 2;
export const HASH_CRC32: i32 = 3;
export const HASH_CRC32A: i32 = 4;
export const HASH_FNV1_64: i32 = 5;
export const HASH_FNV1A_64: i32 = 6;
export const HASH_FNV1_32: i32 = 7;
export const HASH_FNV1A_32: i32 = 8;
export const HASH_HSIEH: i32 = 9;
export const HASH_MURMUR: i32 = 10;
export const HASH_JENKINS: i32 = 11;
export const HASH_MURMUR3: i32 = 12;
export const HASH_MURMUR3_X64_64: i32 = 13;
export const HASH_COUNT: i32 = 14;

/** Deepest reply nesting the reply framer accepts. */
export const MAX_DEPTH: i32 = 64;
/** Longest inline command / memcached text line (bytes up to \n), as Redis's PROTO_INLINE_MAX_SIZE. */
export const MAX_INLINE: i32 = 65536;

// ---- Anti-entropy snapshot record: AE_REC_WORDS x i32 per key (assembly/anti-entropy.ts) ----
//   +0 KEY_OFF  +4 KEY_LEN  +8 VAL_OFF  +12 VAL_LEN  +16 EXPIRE_BUCKET  +20 TOKEN  +24 DIGEST_LO  +28 DIGEST_HI
export const AE_REC_WORDS: i32 = 8;
