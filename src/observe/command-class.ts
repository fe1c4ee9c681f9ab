// Netflix's per-datastore request classes (`redis_req_*` stats): which class each command counts in.
// Computed once per command id at start-up from the command table, so the request path does one
// array read and one counter increment.
import type { ServerStatName } from './stats-table.js';

export type RequestClass = Extract<ServerStatName, `redis_req_${string}`>;

const EXACT: Record<string, RequestClass> = {
  GET: 'redis_req_get', SET: 'redis_req_set', DEL: 'redis_req_del', UNLINK: 'redis_req_del',
  INCR: 'redis_req_incr_decr', DECR: 'redis_req_incr_decr', INCRBY: 'redis_req_incr_decr',
  DECRBY: 'redis_req_incr_decr', INCRBYFLOAT: 'redis_req_incr_decr', KEYS: 'redis_req_keys',
  MGET: 'redis_req_mget', SCAN: 'redis_req_scan', SORT: 'redis_req_sort', SORT_RO: 'redis_req_sort',
  LREM: 'redis_req_lreqm', SUNION: 'redis_req_sunion', SUNIONSTORE: 'redis_req_sunion', PING: 'redis_req_ping',
};

/** The class of a command by its (upper-case) name. */
export function requestClass(name: string): RequestClass {
  const exact = EXACT[name];
  if (exact) return exact;
  if (/^(L|R)(PUSH|POP|PUSHX|RANGE|INDEX|LEN|SET|TRIM|INSERT|POS|MOVE|MPOP)|^RPOPLPUSH$|^LMOVE$/.test(name)) return 'redis_req_lists';
  if (/^S(ADD|REM|CARD|MEMBERS|ISMEMBER|MISMEMBER|POP|RANDMEMBER|MOVE|INTER|DIFF|SCAN|INTERCARD|INTERSTORE|DIFFSTORE)$/.test(name)) return 'redis_req_sets';
  if (name.startsWith('H')) return 'redis_req_hashes';
  if (name.startsWith('Z')) return 'redis_req_sortedsets';
  return 'redis_req_other';
}
