// The command table: lookup (every name, every case, hostile inputs), the classification the proxy
// routes on, key positions, the generated docs, and a cross-check against a live redis-server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABI } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import {
  arityAccepts, commandClass, isBroadcast, isFragment, isKeyValue, isNoKey, isPseudo, isQuit, isRead,
  isScript, isSearch, isUnsupported, isWrite, keyIndexes, loadCommandTable, renderCommandsDoc,
  type CommandInfo,
} from '../src/wasm/commands.js';
import { Prng } from './helpers/prng.js';
import { freePort } from './helpers/servers.js';

const core = createCore({ records: 16, keys: 1024, connections: 4, stagingBytes: 1 << 16, mbufCount: 4 });
const ex = core.exports;
const table = loadCommandTable(core);
const names = table.all().map((c) => c.name);

/** Looks up raw bytes placed at `at` (default: the staging area). */
function lookupBytes(bytes: Uint8Array, at = core.stagingPtr): number {
  core.u8.set(bytes, at);
  return ex.cmdLookup(at, bytes.length);
}
const lookup = (name: string, at?: number): number => lookupBytes(Buffer.from(name, 'latin1'), at);

function get(name: string): CommandInfo {
  const c = table.byName(name);
  if (!c) throw new Error(`${name} is not in the table`);
  return c;
}

describe('cmdLookup', () => {
  it('finds every name in upper, lower and random mixed case, at any alignment', () => {
    const rng = new Prng(0x5eed);
    expect(table.count).toBeGreaterThan(250);
    for (const c of table.all()) {
      expect(lookup(c.name), c.name).toBe(c.id);
      expect(lookup(c.name.toLowerCase()), c.name).toBe(c.id);
      for (let round = 0; round < 4; round++) {
        const mixed = [...c.name].map((ch) => (rng.int(2) ? ch.toLowerCase() : ch)).join('');
        expect(lookup(mixed, core.stagingPtr + rng.int(16)), mixed).toBe(c.id);
      }
    }
  });

  it('reads only [ptr, ptr+len): a name ending at the last byte of memory is found', () => {
    const end = core.memory.buffer.byteLength;
    for (const name of ['GET', 'ZREVRANGEBYSCORE', 'DYNO_CONFIG:CONN_CONSISTENCY', 'TTL', 'PFCOUNT']) {
      expect(lookup(name, end - name.length)).toBe(get(name).id);
    }
    expect(ex.cmdLookup(end - 2, 3)).toBe(0); // would run past the end
    expect(ex.cmdLookup(0xfffffff0, 8)).toBe(0);
  });

  it('returns 0 for empty, negative and over-long lengths', () => {
    expect(lookup('')).toBe(0);
    expect(ex.cmdLookup(core.stagingPtr, -1)).toBe(0);
    expect(ex.cmdLookup(core.stagingPtr, 0x7fffffff)).toBe(0);
    expect(lookup('X'.repeat(33))).toBe(0);
    expect(lookup('GET'.repeat(67))).toBe(0); // 201 bytes
    expect(lookup('A'.repeat(200))).toBe(0);
    expect(lookup('DYNO_CONFIG:CONN_CONSISTENCYXXXX')).toBe(0); // 32 bytes, unknown
  });

  it('returns 0 for every proper prefix and every one-byte extension that is not itself a name', () => {
    const known = new Set(names);
    for (const name of names) {
      for (let n = 1; n < name.length; n++) {
        const prefix = name.slice(0, n);
        expect(lookup(prefix), prefix).toBe(known.has(prefix) ? get(prefix).id : 0);
      }
      for (const extra of ['X', '_', ' ', '\0']) {
        const longer = name + extra;
        if (!known.has(longer)) expect(lookup(longer), longer).toBe(0);
      }
    }
  });

  it('does not fold non-letters: bytes that differ from a name only in bit 0x20 are unknown', () => {
    for (const name of names) {
      const bytes = Buffer.from(name, 'latin1');
      for (let i = 0; i < bytes.length; i++) {
        const ch = bytes[i] ?? 0;
        const isLetter = (ch | 0x20) >= 0x61 && (ch | 0x20) <= 0x7a;
        const flipped = Buffer.from(bytes);
        flipped[i] = ch ^ 0x20;
        const id = lookupBytes(flipped);
        if (isLetter) expect(id, name).toBe(get(name).id);
        else expect(id, `${name} with byte ${i} ^ 0x20`).toBe(0);
      }
    }
  });

  it('returns 0 for non-ASCII bytes and random garbage', () => {
    const rng = new Prng(42);
    for (const name of names) {
      const bytes = Buffer.from(name, 'latin1');
      const i = rng.int(bytes.length);
      bytes[i] = (bytes[i] ?? 0) | 0x80;
      expect(lookupBytes(bytes), name).toBe(0);
    }
    expect(lookupBytes(Buffer.from('gét', 'utf8'))).toBe(0);
    expect(lookupBytes(Uint8Array.of(0xff, 0xfe, 0xfd))).toBe(0);
    const known = new Set(names);
    for (let i = 0; i < 2000; i++) {
      const len = 1 + rng.int(40);
      const bytes = Uint8Array.from({ length: len }, () => rng.int(256));
      const id = lookupBytes(bytes);
      if (id !== 0) expect(known.has(Buffer.from(bytes).toString('latin1').toUpperCase())).toBe(true);
    }
  });
});

describe('per-id accessors', () => {
  it('round-trips name -> id -> name, upper case, exact length', () => {
    const out = core.stagingPtr + 4096;
    for (const c of table.all()) {
      core.u8.fill(0xaa, out, out + 40);
      const len = ex.cmdNameCopy(c.id, out);
      expect(core.buf.toString('latin1', out, out + len)).toBe(c.name);
      expect(c.name).toBe(c.name.toUpperCase());
      expect(core.u8[out + len]).toBe(0xaa); // nothing written past the name
      expect(lookup(c.name)).toBe(c.id);
    }
    expect(ex.cmdCount()).toBe(table.count);
  });

  it('answers 0 for bad ids and never traps', () => {
    const out = core.stagingPtr + 4096;
    core.u8[out] = 0x55;
    for (const id of [0, -1, table.count + 1, 511, 512, 0x7fffffff, -0x80000000]) {
      expect(ex.cmdFlags(id)).toBe(0);
      expect(ex.cmdArity(id)).toBe(0);
      expect(ex.cmdFirstKey(id)).toBe(0);
      expect(ex.cmdLastKey(id)).toBe(0);
      expect(ex.cmdKeyStep(id)).toBe(0);
      expect(ex.cmdNameCopy(id, out)).toBe(0);
    }
    expect(core.u8[out]).toBe(0x55);
    expect(ex.cmdNameCopy(1, core.memory.buffer.byteLength - 1)).toBe(0);
  });

  it('loader: byName is case-insensitive, byId rejects bad ids, staging bytes are restored', () => {
    expect(table.byName('hSeT')?.name).toBe('HSET');
    expect(table.byName('nope')).toBeUndefined();
    expect(table.byId(0)).toBeUndefined();
    expect(table.byId(table.count + 1)).toBeUndefined();
    expect(table.byId(1.5)).toBeUndefined();
    expect(table.byId(get('GET').id)?.name).toBe('GET');
    core.u8.set(Buffer.from('tail of a partial message'), core.stagingPtr);
    const again = loadCommandTable(core);
    expect(core.buf.toString('latin1', core.stagingPtr, core.stagingPtr + 25)).toBe('tail of a partial message');
    expect(again.all()).toEqual(table.all());
  });
});

describe('classification', () => {
  it('every command is exactly one of read / write unless it is keyless admin, refused or pseudo', () => {
    for (const c of table.all()) {
      // Read | write: a read that rewrites the value (Redis may-replicate), replicated like a write.
      expect(isRead(c.flags) && isWrite(c.flags), c.name).toBe(c.name === 'PFCOUNT');
      const exempt = isNoKey(c.flags) || isUnsupported(c.flags) || isPseudo(c.flags);
      if (!exempt) expect(isRead(c.flags) || isWrite(c.flags), c.name).toBe(true);
      if (isUnsupported(c.flags)) expect(c.flags & (ABI.CF_READ | ABI.CF_WRITE), c.name).toBe(0);
    }
  });

  it('fixes the Netflix misclassifications', () => {
    for (const w of ['SUNIONSTORE', 'ZUNIONSTORE', 'ZINTERSTORE', 'SDIFFSTORE', 'SINTERSTORE', 'ZDIFFSTORE',
      'ZRANGESTORE', 'GEOSEARCHSTORE', 'PFMERGE', 'BITOP', 'SORT', 'GEORADIUS', 'GEORADIUSBYMEMBER']) {
      expect(isWrite(get(w).flags), w).toBe(true);
    }
    for (const r of ['TTL', 'PTTL', 'PFCOUNT', 'SORT_RO', 'GEORADIUS_RO', 'EXPIRETIME', 'HSTRLEN']) {
      expect(isRead(get(r).flags), r).toBe(true);
    }
    // Redis arities where Netflix fixed them or had none.
    expect(get('HSET').arity).toBe(-4);
    expect(get('HSTRLEN').arity).toBe(3);
    expect(get('UNLINK').arity).toBe(-2);
    expect(arityAccepts(get('HSET'), 6)).toBe(true);
    expect(arityAccepts(get('GET'), 3)).toBe(false);
  });

  it('fragments exactly MGET MSET DEL UNLINK EXISTS TOUCH; MSET alone is key-value', () => {
    const frag = table.all().filter((c) => isFragment(c.flags)).map((c) => c.name).sort();
    expect(frag).toEqual(['DEL', 'EXISTS', 'MGET', 'MSET', 'TOUCH', 'UNLINK']);
    expect(table.all().filter((c) => isKeyValue(c.flags)).map((c) => c.name)).toEqual(['MSET']);
    for (const n of frag) expect([get(n).firstKey, get(n).lastKey], n).toEqual([1, -1]);
    expect(get('MSET').step).toBe(2);
  });

  it('scripts, pseudo-commands, broadcast and search', () => {
    const scripts = table.all().filter((c) => isScript(c.flags));
    expect(scripts.map((c) => c.name).sort()).toEqual(['EVAL', 'EVALSHA', 'EVALSHA_RO', 'EVAL_RO']);
    for (const c of scripts) expect([c.firstKey, c.lastKey, c.step], c.name).toEqual([3, 2, 1]);
    expect(isWrite(get('EVAL').flags) && isRead(get('EVAL_RO').flags)).toBe(true);
    expect(get('SCRIPT').flags).toBe(ABI.CF_SUBCMD | ABI.CF_NOKEY | ABI.CF_BROADCAST);
    expect(table.all().filter((c) => isPseudo(c.flags)).map((c) => c.name).sort())
      .toEqual(['AUTH', 'CLIENT', 'COMMAND', 'CONFIG', 'DISCARD', 'DYNO_CONFIG:CONN_CONSISTENCY', 'DYNO_HINT', 'DYNO_TX', 'ECHO', 'EXEC', 'HELLO', 'INFO',
        'MULTI', 'PSUBSCRIBE', 'PUBLISH', 'PUBSUB', 'PUNSUBSCRIBE', 'QUIT', 'RESET', 'SELECT', 'SPUBLISH', 'SSUBSCRIBE', 'SUBSCRIBE',
        'SUNSUBSCRIBE', 'UNSUBSCRIBE', 'UNWATCH', 'WATCH']);
    // Transactions are queued by the node; WATCH keeps its keys (they route the transaction).
    expect([get('WATCH').firstKey, get('WATCH').lastKey, get('WATCH').step]).toEqual([1, -1, 1]);
    // INFO (the datastore's sections) and CONFIG (all but GET) still reach the local datastore.
    for (const n of ['INFO', 'CONFIG', 'ECHO', 'COMMAND']) expect(isNoKey(get(n).flags), n).toBe(true);
    expect(get('DYNO_CONFIG:CONN_CONSISTENCY').arity).toBe(2);
    expect(table.all().filter((c) => isQuit(c.flags)).map((c) => c.name)).toEqual(['QUIT']);
    expect(isBroadcast(get('FLUSHALL').flags) && isBroadcast(get('FT.CREATE').flags)).toBe(true);
    expect(isBroadcast(get('FT.SEARCH').flags)).toBe(false);
    for (const c of table.all().filter((x) => x.name.startsWith('FT.'))) {
      expect(isSearch(c.flags), c.name).toBe(true);
      expect(c.step !== 0, c.name).toBe(c.name.startsWith('FT.SUG'));
    }
    for (const c of table.all().filter((x) => isSearch(x.flags))) expect(c.name).toMatch(/^FT\./);
  });

  it('keyless admin goes to the local datastore; keyless means no key positions', () => {
    for (const n of ['PING', 'KEYS', 'SCAN', 'SCRIPT', 'DBSIZE', 'TIME',
      'FLUSHALL', 'FLUSHDB', 'RANDOMKEY', 'LASTSAVE']) {
      expect(commandClass(get(n)), n).toBe('admin');
    }
    for (const c of table.all()) {
      const keyless = c.step === 0;
      expect(keyless, c.name).toBe(c.firstKey === 0);
      if (keyless) expect(c.lastKey, c.name).toBe(0);
      if (isNoKey(c.flags)) expect(keyless, c.name).toBe(true);
    }
  });

  it('carries the RESP3 reply shape of each command', () => {
    const shapes: Record<string, number> = {
      GET: ABI.SH_PLAIN, HGETALL: ABI.SH_MAP, SMEMBERS: ABI.SH_SET, SINTER: ABI.SH_SET, ZSCORE: ABI.SH_DOUBLE,
      ZMSCORE: ABI.SH_DOUBLES, ZRANGE: ABI.SH_SCORES, ZPOPMIN: ABI.SH_ZPOP, HRANDFIELD: ABI.SH_PAIRS,
      XINFO: ABI.SH_SUBCMD, LOLWUT: ABI.SH_VERBATIM, GEOSEARCH: ABI.SH_GEO, ZMPOP: ABI.SH_ZMPOP,
    };
    for (const [n, sh] of Object.entries(shapes)) expect(get(n).shape, n).toBe(sh);
  });

  it('refuses what a proxy cannot serve', () => {
    for (const n of ['SWAPDB', 'MOVE', 'MONITOR', 'SYNC', 'PSYNC', 'REPLICAOF', 'SLAVEOF',
      'BLPOP', 'BRPOP', 'BLMOVE', 'BZPOPMIN', 'XREAD', 'SHUTDOWN', 'FCALL']) {
      expect(commandClass(get(n)), n).toBe('unsupported');
    }
  });

  it('answers pub/sub at the node (its own subscription registry)', () => {
    for (const n of ['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'PUBLISH',
      'SPUBLISH', 'PUBSUB']) {
      expect(commandClass(get(n)), n).toBe('pseudo');
    }
  });
});

describe('key positions', () => {
  const cases: [string, number, number[], number?][] = [
    ['GET', 2, [1]],
    ['SET', 5, [1]],
    ['MGET', 4, [1, 2, 3]],
    ['DEL', 2, [1]],
    ['MSET', 7, [1, 3, 5]],
    ['EVAL', 6, [3, 4], 2],
    ['EVALSHA', 4, [], 0],
    ['EVAL', 5, []], // numkeys unknown: no static key
    ['SMOVE', 4, [1, 2]],
    ['RENAME', 3, [1, 2]],
    ['SINTERSTORE', 4, [1, 2, 3]],
    ['ZUNIONSTORE', 6, [1]],
    ['ZINTERCARD', 5, [2]],
    ['LMPOP', 5, [2]],
    ['BITOP', 5, [2, 3, 4]],
    ['JSON.MGET', 4, [1, 2]],
    ['JSON.MSET', 7, [1, 4]],
    ['OBJECT', 3, [2]],
    ['OBJECT', 2, []],
    ['XINFO', 3, [2]],
    ['PING', 1, []],
    ['FT.SEARCH', 3, []],
    ['FT.SUGGET', 3, [1]],
  ];
  it.each(cases)('%s with argc %i has keys %j', (name, argc, keys, numkeys) => {
    expect(keyIndexes(get(name), argc, numkeys)).toEqual(keys);
  });
});

describe('docs/commands.md', () => {
  const path = fileURLToPath(new URL('../docs/commands.md', import.meta.url));
  it('is generated from the table and up to date', () => {
    const doc = renderCommandsDoc(table);
    if (process.env.UPDATE_COMMANDS_DOC === '1') writeFileSync(path, doc);
    let onDisk = '';
    try { onDisk = readFileSync(path, 'utf8'); } catch { /* missing: fails below */ }
    expect(onDisk, 'run UPDATE_COMMANDS_DOC=1 npx vitest run test/commands.test.ts').toBe(doc);
  });
});

// Lookup speed is measured in bench/core.ts, not asserted here (timed tests are noise on 2 cores).

// ---- cross-check against a live redis-server's COMMAND INFO ----

/** Where we deliberately differ from Redis 7.0 in arity or key positions, and why. */
const ARITY_OR_KEYS_DIFFER: Record<string, [number, number, number, number]> = {
  // Redis 7.2 added WITHSCORE: accept it and let the datastore judge.
  ZRANK: [-3, 1, 1, 1], ZREVRANK: [-3, 1, 1, 1],
  // numkeys at 2, keys from 3 (CF_SCRIPT); Redis says 0 0 0 (movablekeys).
  EVAL: [-3, 3, 2, 1], EVALSHA: [-3, 3, 2, 1], EVAL_RO: [-3, 3, 2, 1], EVALSHA_RO: [-3, 3, 2, 1],
  // numkeys first: only the first key is recorded (it routes).
  ZUNION: [-3, 2, 2, 1], ZINTER: [-3, 2, 2, 1], ZDIFF: [-3, 2, 2, 1], ZINTERCARD: [-3, 2, 2, 1],
  SINTERCARD: [-3, 2, 2, 1], LMPOP: [-4, 2, 2, 1], ZMPOP: [-4, 2, 2, 1],
  // subcommand containers whose key follows the subcommand.
  XGROUP: [-2, 2, 2, 1], XINFO: [-2, 2, 2, 1], OBJECT: [-2, 2, 2, 1], MEMORY: [-2, 2, 2, 1],
};
/** Keyed commands whose read/write class is not Redis's readonly/write flag. */
const CLASS_DIFFERS: Record<string, 'read' | 'write'> = {
  EVAL: 'write', EVALSHA: 'write', // Redis flags neither: a script may write
  XGROUP: 'write', XINFO: 'read', OBJECT: 'read', MEMORY: 'read', // containers carry no flag
  WATCH: 'read', // Redis flags neither; it changes no data
};

type RedisInfo = [string, number, string[], number, number, number, ...unknown[]];

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

describe('against a live redis-server', () => {
  let server: ChildProcess | undefined;
  let client: Redis | undefined;
  let infos: RedisInfo[] = [];

  beforeAll(async () => {
    // Fails, never skips: `npm test` installs redis-server first (scripts/test-deps.sh).
    if (!hasRedis) throw new Error('redis-server is not installed (not on the PATH): see scripts/test-deps.sh');
    const port = await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('Ready to accept')) resolve(); });
      proc.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
    client = new Redis({ host: '127.0.0.1', port, protocol: 2, disableClientInfo: true, lazyConnect: true });
    await client.connect();
    infos = (await client.call('COMMAND')) as RedisInfo[];
  });

  afterAll(async () => {
    await client?.quit().catch(() => undefined);
    client?.disconnect();
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('knows every command redis-server knows', () => {
    expect(infos.length).toBeGreaterThan(200);
    const missing = infos.map((i) => i[0].toUpperCase()).filter((n) => !table.byName(n));
    expect(missing).toEqual([]);
  });

  it('agrees on arity and key positions, except the listed deliberate differences', () => {
    const got: Record<string, number[]> = {};
    const want: Record<string, number[]> = {};
    for (const [name, arity, , first, last, step] of infos) {
      const c = table.byName(name);
      if (!c) continue;
      const n = c.name;
      got[n] = [c.arity, c.firstKey, c.lastKey, c.step];
      want[n] = ARITY_OR_KEYS_DIFFER[n] ?? [arity, first, last, step];
    }
    expect(got).toEqual(want);
    for (const n of Object.keys(ARITY_OR_KEYS_DIFFER)) expect(got[n], `${n} is no longer in Redis`).toBeDefined();
  });

  it('agrees on read/write for keyed commands, except the listed ones', () => {
    for (const [name, , flags] of infos) {
      const c = table.byName(name);
      // Commands the node answers itself never reach a datastore: read or write does not apply.
      if (!c || c.step === 0 || isUnsupported(c.flags) || isPseudo(c.flags)) continue;
      const redisClass = flags.includes('readonly') ? 'read' : flags.includes('write') ? 'write' : 'none';
      const ours = isRead(c.flags) ? 'read' : 'write';
      expect(ours, c.name).toBe(CLASS_DIFFERS[c.name] ?? redisClass);
    }
  });
});

