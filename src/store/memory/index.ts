// The embedded in-memory datastore (`data_store: memory`): answers Redis 7 commands (RESP2 reply
// bytes) and memcached 1.6 text verbs over one keyspace, synchronously, in the proxy's process.
//
//   execute(args) ─► commandFor(args[0])  ─► arity check ─► OOM check ─► handler(ctx, args)
//                    (case-insensitive,      (Redis rules:    (write cmds   (strings.ts, hashes.ts,
//                     cached per spelling)    n / -n)          that grow)    lists.ts, sets.ts, ...)
//                                                                            └► reply bytes (resp-writer)
//   executeMemcache(verb, tokens, data) ─► Memcache (memcache.ts) ─► memcached reply bytes
//   sweep(budgetMs) ─► Keyspace.sweep: incremental active expiry, for a proxy timer
//
// Replies may be shared constant Buffers (+OK, :0, ...): callers must not mutate them. Arguments
// are never retained: anything stored is copied (see `own`).
import { type CommandSpec, type CommandTable, type Ctx, cstr } from './command.js';
import { genericCommands } from './generic.js';
import { hashCommands } from './hashes.js';
import { Keyspace, T_HASH } from './keyspace.js';
import { listCommands } from './lists.js';
import { Memcache } from './memcache.js';
import { E, arityError, error } from './resp-writer.js';
import { serverCommands } from './server.js';
import { setCommands } from './sets.js';
import { stringCommands } from './strings.js';
import { zsetCommands } from './zsets.js';
import { StoreClient, TX_COMMANDS } from './transactions.js';

export { StoreClient } from './transactions.js';

export interface MemoryStoreOptions {
  /** Millisecond wall clock; inject for tests. @default Date.now */
  now?: () => number;
  /** Refuse commands that add data once keys + string values exceed this. @default 0 (no limit) */
  maxMemoryBytes?: number;
  /** Uniform [0, 1) source for RANDOMKEY, SPOP, SRANDMEMBER, HRANDFIELD. @default Math.random */
  random?: () => number;
}

/** Write commands that only remove data: allowed even above maxMemoryBytes (Redis "denyoom"). */
const NEVER_OOM = new Set([
  'del', 'unlink', 'flushall', 'flushdb', 'getdel', 'hdel', 'srem', 'zrem', 'lpop', 'rpop', 'spop',
  'persist', 'expire', 'pexpire', 'expireat', 'pexpireat', 'ltrim', 'lrem', 'zpopmin', 'zpopmax',
  'zremrangebyrank', 'zremrangebyscore', 'zremrangebylex', 'rename', 'renamenx',
]);

const COMMANDS: CommandTable = {
  ...stringCommands,
  ...genericCommands,
  ...hashCommands,
  ...listCommands,
  ...setCommands,
  ...zsetCommands,
};
Object.assign(COMMANDS, serverCommands(() => Object.keys(COMMANDS).length));

/** The names of every supported Redis command (lower case). */
export const SUPPORTED_COMMANDS: readonly string[] = [...Object.keys(COMMANDS), ...Object.keys(TX_COMMANDS)].sort();

const OOM_MEMCACHE = Buffer.from('SERVER_ERROR out of memory storing object\r\n');
const MEMCACHE_STORAGE = new Set(['set', 'add', 'replace', 'append', 'prepend', 'cas']);

/** Hash commands that change a hash in place (the keyspace sees no create or remove for those). */
const HASH_WRITES = new Set(['hset', 'hsetnx', 'hmset', 'hdel', 'hincrby', 'hincrbyfloat']);

/** Told which keys changed after each command (search indexing); nothing is called while unset. */
export interface StoreWatcher {
  changed(keys: ReadonlySet<string>): void;
  flushed(): void;
}

interface Resolved {
  name: string;
  spec: CommandSpec;
  denyOom: boolean;
  /** MULTI, EXEC, DISCARD, WATCH, UNWATCH: run on the client's transaction state. */
  tx: boolean;
}

const OK_TX = Buffer.from('+OK\r\n');

/** Transaction control commands: not queued after MULTI (UNWATCH is, as in Redis). */
function isTxControl(name: string): boolean {
  return name === 'exec' || name === 'discard' || name === 'multi' || name === 'watch';
}

/** Write commands whose keys are not just args[1]: the argument indexes of every key they change. */
function writeKeyArgs(name: string, argc: number): number[] | undefined {
  switch (name) {
    case 'del':
    case 'unlink':
      return range(1, argc, 1);
    case 'mset':
    case 'msetnx':
      return range(1, argc, 2);
    case 'rename':
    case 'renamenx':
    case 'copy':
    case 'smove':
    case 'lmove':
    case 'rpoplpush':
      return [1, 2];
    default:
      return undefined;
  }
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i += step) out.push(i);
  return out;
}

/**
 * WATCH: a write command touches the keys it names (Redis's signalModifiedKey). This errs on the
 * side of aborting: a write that changes nothing (SETNX on an existing key, DEL of a missing one)
 * still marks the key's watchers, where Redis would not. Creations, replacements, deletions,
 * expiry and FLUSHALL are signalled by the keyspace itself, exactly.
 */
function signalWrites(ks: Keyspace, name: string, args: Buffer[]): void {
  const idx = writeKeyArgs(name, args.length);
  if (idx === undefined) {
    if (args.length > 1) ks.signal(args[1]!.toString('latin1'));
    return;
  }
  for (const i of idx) ks.signal(args[i]!.toString('latin1'));
}

export class MemoryStore implements Ctx {
  readonly ks: Keyspace;
  private readonly clock: () => number;
  private readonly rng: () => number;
  private readonly maxMemory: number;
  private readonly memcache: Memcache;
  /** Command lookup per exact spelling ("get", "GET", "Get"), so the hot path lowercases once. */
  private readonly resolved = new Map<string, Resolved | null>();
  private watcher: StoreWatcher | undefined;
  private readonly touched = new Set<string>();

  constructor(opts: MemoryStoreOptions = {}) {
    this.clock = opts.now ?? Date.now;
    this.rng = opts.random ?? Math.random;
    this.maxMemory = opts.maxMemoryBytes ?? 0;
    this.ks = new Keyspace(this.clock);
    this.memcache = new Memcache(this);
  }

  now(): number {
    return this.clock();
  }

  random(): number {
    return this.rng();
  }

  /** A queued command, run by EXEC (no client: EXEC's commands cannot start transactions). */
  private readonly run = (args: Buffer[]): Buffer => this.execute(args);

  private resolve(nameBuf: Buffer): Resolved | null {
    const spelled = nameBuf.toString('latin1');
    let r = this.resolved.get(spelled);
    if (r === undefined) {
      const name = spelled.toLowerCase();
      if (Object.hasOwn(TX_COMMANDS, name)) {
        r = { name, spec: { arity: TX_COMMANDS[name]!, write: false, run: () => OK_TX }, denyOom: false, tx: true };
        if (this.resolved.size < 4096) this.resolved.set(spelled, r);
        return r;
      }
      const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : null;
      r = spec === null ? null : { name, spec, denyOom: spec.write && !NEVER_OOM.has(name), tx: false };
      if (this.resolved.size < 4096) this.resolved.set(spelled, r);
    }
    return r;
  }

  /**
   * Executes one Redis command (args[0] = name, any case) and returns the RESP2 reply bytes.
   * `client` holds the caller's transaction state (MULTI queue, WATCHed keys) as a Redis connection
   * does; without one, MULTI ... EXEC state lasts for this call only.
   */
  execute(args: Buffer[], client?: StoreClient): Buffer {
    if (args.length === 0) return error('ERR empty command');
    const r = this.resolve(args[0]!);
    if (client?.inMulti === true && (r === null || !isTxControl(r.name))) {
      // Queued, as Redis does: refused now only when unknown or of the wrong arity.
      if (r === null) return client.refuse(unknownCommand(args));
      const arity = r.spec.arity;
      if ((arity > 0 && args.length !== arity) || args.length < -arity) return client.refuse(arityError(r.name));
      return client.enqueue(args);
    }
    if (r === null) return unknownCommand(args);
    const arity = r.spec.arity;
    if ((arity > 0 && args.length !== arity) || args.length < -arity) return arityError(r.name);
    if (r.tx) return (client ?? new StoreClient()).control(this.ks, r.name, args, this.run);
    if (r.denyOom && this.maxMemory > 0 && this.ks.usedBytes > this.maxMemory) return E.OOM;
    const reply = r.spec.run(this, args);
    if (r.spec.write && this.ks.watchers.size > 0) signalWrites(this.ks, r.name, args);
    if (this.watcher !== undefined) {
      if (HASH_WRITES.has(r.name) && args.length > 1) this.touched.add(args[1]!.toString('latin1'));
      this.notify();
    }
    return reply;
  }

  /** Starts telling `w` about changed keys (set once; the search engine of this node). */
  watch(w: StoreWatcher): void {
    this.watcher = w;
    this.ks.onTouch = (key) => this.touched.add(key);
    this.ks.onFlush = () => {
      this.touched.clear();
      w.flushed();
    };
  }

  unwatch(): void {
    this.watcher = undefined;
    this.ks.onTouch = undefined;
    this.ks.onFlush = undefined;
    this.touched.clear();
  }

  private notify(): void {
    if (this.touched.size === 0) return;
    const keys = new Set(this.touched);
    this.touched.clear();
    this.watcher!.changed(keys);
  }

  /** A hash's fields (a copy), or null when the key is absent or not a hash. */
  readHash(key: string): Map<string, Buffer> | null {
    const e = this.ks.lookup(key);
    if (e === undefined || e.type !== T_HASH) return null;
    return new Map(e.value as Map<string, Buffer>);
  }

  /** Executes one memcached text command already split (see memcache.ts for the contract). */
  executeMemcache(verb: string, tokens: Buffer[], data?: Buffer): Buffer {
    if (this.maxMemory > 0 && this.ks.usedBytes > this.maxMemory && MEMCACHE_STORAGE.has(verb)) return OOM_MEMCACHE;
    const reply = this.memcache.execute(verb, tokens, data);
    if (this.watcher !== undefined) this.notify();
    return reply;
  }

  /** Active expiry: removes expired keys for at most `budgetMs`; returns how many were removed. */
  sweep(budgetMs: number): number {
    const n = this.ks.sweep(budgetMs);
    if (this.watcher !== undefined) this.notify();
    return n;
  }

  dbsize(): number {
    return this.ks.size;
  }

  flush(): void {
    this.ks.flush();
  }
}

/** Redis 7.0: "unknown command '<name>', with args beginning with: '<a1>' '<a2>' " (128-byte caps). */
function unknownCommand(args: Buffer[]): Buffer {
  let rest = '';
  for (let i = 1; i < args.length && rest.length < 128; i++) {
    rest += `'${cstr(args[i]!).slice(0, 128 - rest.length)}' `;
  }
  return error(`ERR unknown command '${cstr(args[0]!).slice(0, 128)}', with args beginning with: ${rest}`);
}
