// The typed surface of the WASM core and the layout constants JS relies on. checkAbi() compares
// every constant below with the module's own export, so the two sides cannot drift apart silently.

/** Layout constants mirrored from assembly/layout.ts (REC and KEY fields are word indexes, RES fields byte offsets). */
export const ABI = {
  ABI_VERSION: 1,
  RES_CONSUMED: 0, RES_NEED: 4, RES_ERR_POS: 8, RES_ERR_CODE: 12, RES_NKEYS: 16, RES_FLAGS: 20, RES_COUNT: 24, RES_SIZE: 64,
  RES_MORE: 1,
  REC_START: 0, REC_LEN: 1, REC_CMD: 2, REC_FLAGS: 3, REC_ARGC: 4, REC_NAME_OFF: 5, REC_NAME_LEN: 6,
  REC_KEY_FIRST: 7, REC_NKEYS: 8, REC_TOKEN: 9, REC_ERR: 10, REC_ARG1_OFF: 11, REC_ARG1_LEN: 12,
  REC_DIGEST_LO: 13, REC_DIGEST_HI: 14, REC_AUX: 15, REC_WORDS: 16, REC_SIZE: 64,
  KEY_OFF: 0, KEY_LEN: 1, KEY_TOKEN: 2, KEY_ARG: 3, KEY_WORDS: 4, KEY_SIZE: 16,
  CONN_MODE: 0, CONN_NEED: 4, CONN_ERR: 8, CONN_MESSAGES: 12, CONN_NO_DIGEST: 60, CONN_SIZE: 64,
  FRAMER_RESP_REQ: 1, FRAMER_RESP_REP: 2, FRAMER_MC_REQ: 3, FRAMER_MC_REP: 4, FRAMER_DNODE: 5,
  MBUF_NEXT: 0, MBUF_POS: 4, MBUF_LAST: 8, MBUF_REFS: 12, MBUF_HDR: 16,
  ST_PROTOCOL: -1, ST_BADARG: -2,
  E_NONE: 0, E_BAD_TYPE: 1, E_BAD_LENGTH: 2, E_TOO_LARGE: 3, E_EXPECTED_CRLF: 4, E_TOO_DEEP: 5,
  E_INLINE_TOO_LONG: 6, E_BAD_INLINE: 7, E_BAD_MC: 8, E_BAD_DNODE: 9, E_EMPTY: 10,
  ERR_NONE: 0, ERR_UNKNOWN_CMD: 1, ERR_ARITY: 2, ERR_UNSUPPORTED: 3, ERR_EVAL_NOKEYS: 4,
  ERR_TOO_MANY_KEYS: 5, ERR_BAD_NUMBER: 6,
  CF_READ: 1, CF_WRITE: 2, CF_FRAGMENT: 4, CF_NOKEY: 8, CF_BROADCAST: 16, CF_UNSUPPORTED: 32,
  CF_PSEUDO: 64, CF_SUBCMD: 128, CF_SEARCH: 256, CF_SCRIPT: 512, CF_QUIT: 1024, CF_KV: 2048,
  SH_PLAIN: 0, SH_MAP: 1, SH_SET: 2, SH_DOUBLE: 3, SH_DOUBLES: 4, SH_SCORES: 5, SH_ZPOP: 6, SH_PAIRS: 7,
  SH_VERBATIM: 8, SH_SUBCMD: 9, SH_ZMPOP: 10, SH_GEO: 11,
  MG_NONE: 0, MG_ARRAY: 1, MG_SUM: 2, MG_ALL_OK: 3, MG_MC_VALUES: 4,
  MF_INLINE: 1 << 16, MF_EMPTY_TAG: 1 << 17, MF_NOREPLY: 1 << 18,
  MC_REPLY_VALUE: 1, MC_REPLY_STATUS: 2, MC_REPLY_NUMBER: 3, MC_REPLY_ERROR: 4, MC_REPLY_VERSION: 5,
  MC_REPLY_STAT: 6,
  DN_TYPE_UNKNOWN: 0, DN_TYPE_DEBUG: 1, DN_TYPE_PARSE_ERROR: 2, DN_TYPE_REQ: 3, DN_TYPE_REQ_FORWARD: 4,
  DN_TYPE_RES: 5, DN_TYPE_CRYPTO_HANDSHAKE: 6, DN_TYPE_GOSSIP_SYN: 7, DN_TYPE_GOSSIP_SYN_REPLY: 8,
  DN_TYPE_GOSSIP_ACK: 9, DN_TYPE_GOSSIP_DIGEST_SYN: 10, DN_TYPE_GOSSIP_DIGEST_ACK: 11,
  DN_TYPE_GOSSIP_DIGEST_ACK2: 12, DN_TYPE_GOSSIP_SHUTDOWN: 13, DN_FLAG_ENCRYPTED: 1, DN_FLAG_COMPRESSED: 2, DN_MAX_LEAD: 8, DN_MAX_DATA: 65536,
  HASH_ONE_AT_A_TIME: 0, HASH_MD5: 1, HASH_CRC16: 2, HASH_CRC32: 3, HASH_CRC32A: 4, HASH_FNV1_64: 5,
  HASH_FNV1A_64: 6, HASH_FNV1_32: 7, HASH_FNV1A_32: 8, HASH_HSIEH: 9, HASH_MURMUR: 10, HASH_JENKINS: 11,
  HASH_MURMUR3: 12, HASH_MURMUR3_X64_64: 13, HASH_COUNT: 14,
  MAX_DEPTH: 64, MAX_INLINE: 65536,
  AE_REC_WORDS: 8,
} as const;

export type AbiConstant = keyof typeof ABI;

/** Hash names as the config and the CLI spell them, indexed by HASH_* id. */
export const HASH_NAMES = [
  'one_at_a_time', 'md5', 'crc16', 'crc32', 'crc32a', 'fnv1_64', 'fnv1a_64', 'fnv1_32', 'fnv1a_32',
  'hsieh', 'murmur', 'jenkins', 'murmur3', 'murmur3_x64_64',
] as const;
export type HashName = (typeof HASH_NAMES)[number];

/** Raw exports (call these directly on the hot path: no binding wrappers). */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  init(records: number, keys: number, conns: number, staging: number, mbufSize: number, mbufs: number): number;
  configureHash(algo: number, open: number, close: number): void;
  configureMaxBulk(n: bigint): void;
  connReset(conn: number, mode: number): number;
  res_ptr(): number; rec_ptr(): number; rec_cap(): number; key_ptr(): number; key_cap(): number;
  conn_ptr(c: number): number; conn_cap(): number; staging_ptr(): number; staging_cap(): number;
  mbuf_base(): number; mbuf_size(): number; mbuf_count(): number;
  respFrameRequests(conn: number, ptr: number, len: number): number;
  respFrameReplies(conn: number, ptr: number, len: number): number;
  mcFrameRequests(conn: number, ptr: number, len: number): number;
  mcFrameReplies(conn: number, ptr: number, len: number): number;
  dnodeFrame(conn: number, ptr: number, len: number): number;
  dnodeEncode(out: number, cap: number, msgIdLo: number, msgIdHi: number, type: number, flags: number,
    version: number, sameDc: number, data: number, dataLen: number, payloadLen: number): number;
  cmdLookup(ptr: number, len: number): number;
  cmdCount(): number; cmdFlags(id: number): number; cmdArity(id: number): number;
  cmdFirstKey(id: number): number; cmdLastKey(id: number): number; cmdKeyStep(id: number): number;
  cmdReplyShape(id: number): number;
  cmdMerge(id: number): number;
  mcCmdFlags(id: number): number;
  mcCmdMerge(id: number): number;
  cmdNameCopy(id: number, out: number): number;
  hashToken(algo: number, ptr: number, len: number): number;
  hashFull(algo: number, ptr: number, len: number, out: number): number;
  routingToken(ptr: number, len: number): number;
  hashKeys(algo: number, base: number, keys: number, n: number): void;
  ringLookup(points: number, n: number, token: number): number;
  ringLookupBatch(points: number, n: number, tokens: number, out: number, count: number): void;
  digest64(ptr: number, len: number): bigint;
  digestLo(ptr: number, len: number): number;
  digestHi(): number;
  memEqual(a: number, b: number, len: number): number;
  /** Anti-entropy: TOKEN and DIGEST of n snapshot records (AE_REC_WORDS words each) at recs. */
  aeDigestBatch(algo: number, base: number, recs: number, n: number): void;
  mbufAlloc(): number; mbufRelease(m: number): number; mbufReleaseChain(m: number): number;
  mbufAppend(tail: number, src: number, len: number): number; mbufFreeCount(): number;
  mbufChainFrom(src: number, len: number, capacity: number): number;
  mbufChainBytes(head: number): number;
  mbufChainGather(head: number, dst: number): number;
}

/** Names of every function export JS requires. */
export const REQUIRED_FUNCTIONS = [
  'init', 'configureHash', 'configureMaxBulk', 'connReset', 'res_ptr', 'rec_ptr', 'rec_cap', 'key_ptr',
  'key_cap', 'conn_ptr', 'conn_cap', 'staging_ptr', 'staging_cap', 'mbuf_base', 'mbuf_size', 'mbuf_count',
  'respFrameRequests', 'respFrameReplies', 'mcFrameRequests', 'mcFrameReplies', 'dnodeFrame', 'dnodeEncode',
  'cmdLookup', 'cmdCount', 'cmdFlags', 'cmdArity', 'cmdFirstKey', 'cmdLastKey', 'cmdKeyStep', 'cmdReplyShape', 'cmdMerge', 'mcCmdFlags', 'mcCmdMerge', 'cmdNameCopy',
  'hashToken', 'hashFull', 'routingToken', 'hashKeys', 'ringLookup', 'ringLookupBatch', 'digest64',
  'digestLo', 'digestHi', 'memEqual', 'mbufAlloc', 'mbufRelease', 'mbufReleaseChain', 'mbufAppend', 'mbufFreeCount',
  'mbufChainFrom', 'mbufChainBytes', 'mbufChainGather', 'aeDigestBatch',
] as const;

/** Throws a clear error when the module lacks an export or disagrees on a constant. */
export function checkAbi(ex: CoreExports): void {
  const raw = ex as unknown as Record<string, unknown>;
  const version = raw.ABI_VERSION as WebAssembly.Global | undefined;
  if (!version || version.value !== ABI.ABI_VERSION) {
    throw new Error(`WASM core ABI_VERSION is ${version?.value ?? 'missing'}, expected ${ABI.ABI_VERSION}: rebuild with \`npm run build:wasm\``);
  }
  for (const name of REQUIRED_FUNCTIONS) {
    if (typeof raw[name] !== 'function') throw new Error(`WASM core lacks export ${name}: rebuild it`);
  }
  for (const [name, value] of Object.entries(ABI)) {
    const g = raw[name] as WebAssembly.Global | undefined;
    if (!g || g.value !== value) {
      throw new Error(`WASM core constant ${name} is ${g?.value ?? 'missing'}, JS expects ${value}`);
    }
  }
  if (!(raw.memory instanceof WebAssembly.Memory)) throw new Error('WASM core exports no memory');
}
