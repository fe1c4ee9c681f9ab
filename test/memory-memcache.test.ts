// memcached verbs of the embedded store: readable unit cases, then a differential run against a real
// memcached 1.6 (exact reply bytes; CAS uniques compared by shape, and each side's own CAS values
// are fed back to its own `cas` commands).
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory/index.js';
import { Prng } from './helpers/prng.js';
import { until } from './helpers/until.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');

function mc(store: MemoryStore, line: string, data?: string): string {
  const [verb, ...tokens] = line.split(' ');
  return store.executeMemcache(verb!, tokens.map(B), data === undefined ? undefined : B(data)).toString('latin1');
}

describe('memcached verbs (unit)', () => {
  it('stores, reads and deletes with flags', () => {
    const s = new MemoryStore();
    expect(mc(s, 'set k 42 0 5', 'hello')).toBe('STORED\r\n');
    expect(mc(s, 'get k nope')).toBe('VALUE k 42 5\r\nhello\r\nEND\r\n');
    expect(mc(s, 'add k 0 0 1', 'x')).toBe('NOT_STORED\r\n');
    expect(mc(s, 'replace nope 0 0 1', 'x')).toBe('NOT_STORED\r\n');
    expect(mc(s, 'append k 0 0 1', '!')).toBe('STORED\r\n');
    expect(mc(s, 'prepend k 0 0 1', '>')).toBe('STORED\r\n');
    expect(mc(s, 'get k')).toBe('VALUE k 42 7\r\n>hello!\r\nEND\r\n');
    expect(mc(s, 'delete k')).toBe('DELETED\r\n');
    expect(mc(s, 'delete k')).toBe('NOT_FOUND\r\n');
    expect(mc(s, 'delete k 5')).toBe('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n');
  });

  it('shares the keyspace with the Redis commands', () => {
    const s = new MemoryStore();
    s.execute([B('SET'), B('r'), B('from-redis')]);
    expect(mc(s, 'get r')).toBe('VALUE r 0 10\r\nfrom-redis\r\nEND\r\n');
    mc(s, 'set m 7 0 2', 'mc');
    expect(s.execute([B('GET'), B('m')]).toString()).toBe('$2\r\nmc\r\n');
    s.execute([B('RPUSH'), B('list'), B('x')]);
    expect(mc(s, 'get list')).toBe('END\r\n');
  });

  it('checks and advances CAS uniques', () => {
    const s = new MemoryStore();
    mc(s, 'set k 0 0 1', 'a');
    const cas = /VALUE k 0 1 (\d+)/.exec(mc(s, 'gets k'))![1]!;
    expect(mc(s, `cas k 0 0 1 ${cas}`, 'b')).toBe('STORED\r\n');
    expect(mc(s, `cas k 0 0 1 ${cas}`, 'c')).toBe('EXISTS\r\n');
    expect(mc(s, 'cas nope 0 0 1 1', 'c')).toBe('NOT_FOUND\r\n');
  });

  it('increments like memcached: wraps at 2^64, floors at 0, pads in place', () => {
    const s = new MemoryStore();
    mc(s, 'set n 0 0 3', '100');
    expect(mc(s, 'decr n 1')).toBe('99\r\n');
    expect(mc(s, 'get n')).toBe('VALUE n 0 3\r\n99 \r\nEND\r\n');
    expect(mc(s, 'decr n 1000')).toBe('0\r\n');
    mc(s, 'set n 0 0 20', '18446744073709551615');
    expect(mc(s, 'incr n 2')).toBe('1\r\n');
    mc(s, 'set t 0 0 3', 'abc');
    expect(mc(s, 'incr t 1')).toBe('CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
    expect(mc(s, 'incr t x')).toBe('CLIENT_ERROR invalid numeric delta argument\r\n');
    expect(mc(s, 'incr nope 1')).toBe('NOT_FOUND\r\n');
  });

  it('expires with relative and absolute exptimes, touch and gat', () => {
    let now = 1_700_000_000_000;
    const s = new MemoryStore({ now: () => now });
    mc(s, 'set a 0 10 1', 'x');
    mc(s, 'set b 0 1700000005 1', 'y'); // absolute: > 30 days
    mc(s, 'set c 0 -1 1', 'z'); // negative: expired at once
    expect(mc(s, 'get c')).toBe('END\r\n');
    now += 6000;
    expect(mc(s, 'get a b')).toBe('VALUE a 0 1\r\nx\r\nEND\r\n');
    expect(mc(s, 'touch a 100')).toBe('TOUCHED\r\n');
    now += 50_000;
    expect(mc(s, 'gat 0 a')).toBe('VALUE a 0 1\r\nx\r\nEND\r\n');
    now += 1_000_000;
    expect(mc(s, 'get a')).toBe('VALUE a 0 1\r\nx\r\nEND\r\n');
    expect(mc(s, 'touch zz 1')).toBe('NOT_FOUND\r\n');
  });

  it('answers noreply with nothing, unknown verbs with ERROR', () => {
    const s = new MemoryStore();
    expect(mc(s, 'set k 0 0 1 noreply', 'v')).toBe('');
    expect(mc(s, 'get k')).toBe('VALUE k 0 1\r\nv\r\nEND\r\n');
    expect(mc(s, 'bogus')).toBe('ERROR\r\n');
    expect(mc(s, 'get')).toBe('ERROR\r\n');
    expect(mc(s, 'flush_all')).toBe('OK\r\n');
    expect(mc(s, 'version')).toMatch(/^VERSION \d/);
    expect(s.dbsize()).toBe(0);
  });
});

// ─── differential against memcached ──────────────────────────────────────────────────────────

interface McCase {
  verb: string;
  tokens: string[];
  data?: string;
}

/**
 * Every command is followed by the meta no-op `mn` (reply "MN"): everything before the MN line is
 * the command's reply, whatever its shape (none for noreply, several lines for retrievals).
 */
function replyEnd(b: Buffer): [number, number] {
  let pos = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', pos);
    if (eol < 0) return [-1, -1];
    const line = b.toString('latin1', pos, eol);
    if (line === 'MN') return [pos, eol + 2];
    if (line.startsWith('VALUE ')) {
      pos = eol + 2 + Number(line.split(' ')[3]) + 2;
      if (pos > b.length) return [-1, -1];
    } else pos = eol + 2;
  }
}

class McClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
  }
  static connect(port: number): Promise<McClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new McClient(s)));
      s.once('error', reject);
    });
  }
  async call(c: McCase): Promise<string> {
    let wire = B([c.verb, ...c.tokens].join(' ') + '\r\n');
    if (c.data !== undefined) wire = Buffer.concat([wire, B(c.data + '\r\n')]);
    this.sock.write(Buffer.concat([wire, B('mn\r\n')]));
    for (;;) {
      const [end, next] = replyEnd(this.buf);
      if (end >= 0) {
        const out = this.buf.toString('latin1', 0, end);
        this.buf = this.buf.subarray(next);
        return out;
      }
      await new Promise<void>((res) => (this.waiter = res));
    }
  }
  close(): void {
    this.sock.destroy();
  }
}

function corpus(seed: number, n: number): McCase[] {
  // 'scaled': the corpus these seeds have always produced (see test/helpers/prng.ts).
  const rng = new Prng(seed, 'scaled');
  const keys = ['a', 'b', 'ctr', 'k\xe9\xff', 'x'.repeat(250), 'long'];
  const bin = (): string => {
    let s = '';
    const len = rng.int(12);
    for (let i = 0; i < len; i++) s += String.fromCharCode(rng.float() < 0.7 ? 97 + rng.int(6) : rng.int(256));
    return s;
  };
  const val = (): string => (rng.float() < 0.4 ? rng.pick(['0', '1', '99', '100', '18446744073709551615', '12 ', ' 7', '-1', '']) : bin());
  const flags = (): string => (rng.float() < 0.9 ? rng.pick(['0', '1', '42', '4294967295']) : rng.pick(['4294967296', 'x', '-1']));
  const exptime = (): string => (rng.float() < 0.9 ? rng.pick(['0', '0', '100', '-1', '3000000000']) : rng.pick(['x', '1.5']));
  const nr = (): string[] => (rng.float() < 0.1 ? ['noreply'] : []);
  const out: McCase[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.pick(keys);
    const t = rng.int(14);
    if (t <= 3) {
      const v = val();
      const verb = rng.pick(['set', 'set', 'add', 'replace', 'append', 'prepend']);
      const f = flags();
      const e = exptime();
      const ok = /^\d+$/.test(f) && /^-?\d+$/.test(e);
      out.push({ verb, tokens: [k, f, e, String(v.length), ...nr()], ...(ok ? { data: v } : {}) });
    } else if (t === 4) {
      const v = val();
      out.push({ verb: 'cas', tokens: [k, '0', '0', String(v.length), rng.float() < 0.7 ? `$CAS:${k}` : '12345', ...nr()], data: v });
    } else if (t <= 6) out.push({ verb: rng.pick(['get', 'gets']), tokens: [k, ...(rng.float() < 0.5 ? [rng.pick(keys)] : [])] });
    else if (t <= 8)
      out.push({ verb: rng.pick(['incr', 'decr']), tokens: [k, rng.pick(['1', '0', '5', '100', '18446744073709551615', 'x', '-1']), ...nr()] });
    else if (t === 9) out.push({ verb: 'delete', tokens: [k, ...(rng.float() < 0.2 ? [rng.pick(['0', '5'])] : []), ...nr()] });
    else if (t === 10) out.push({ verb: 'touch', tokens: [k, exptime(), ...nr()] });
    else if (t === 11) out.push({ verb: rng.pick(['gat', 'gats']), tokens: [rng.pick(['0', '100', 'x']), k] });
    else if (t === 12) out.push({ verb: rng.pick(['bogus', 'GET', 'version']), tokens: [] });
    else out.push(rng.float() < 0.2 ? { verb: 'flush_all', tokens: [...(rng.float() < 0.3 ? ['0'] : []), ...nr()] } : { verb: 'get', tokens: [rng.pick(keys)] });
  }
  return out;
}

/** CAS uniques differ between servers: compare the shape only. */
function maskCas(s: string): string {
  return s.replace(/^(VALUE \S+ \d+ \d+) \d+\r\n/gm, '$1 <cas>\r\n');
}

function rememberCas(reply: string, into: Map<string, string>): void {
  for (const m of reply.matchAll(/^VALUE (\S+) \d+ \d+ (\d+)\r\n/gm)) into.set(m[1]!, m[2]!);
}

let server: ChildProcess | null = null;
let client: McClient | null = null;

beforeAll(async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const args = ['-U', '0', '-l', '127.0.0.1', '-p', String(port)];
  if (process.getuid?.() === 0) args.push('-u', 'nobody');
  server = spawn('memcached', args, { stdio: 'ignore' });
  await until('memcached to accept a connection', async () => {
    client = await McClient.connect(port);
  }, 5000, 50);
});

afterAll(() => {
  client?.close();
  server?.kill('SIGKILL');
});

describe('memcached verbs vs memcached 1.6 (exact reply bytes)', () => {
  for (const seed of [7, 99, 2024]) {
    it(`answers a generated corpus identically (seed ${seed})`, async () => {
      const mcd = client!;
      await mcd.call({ verb: 'flush_all', tokens: [] });
      const store = new MemoryStore();
      const casTheirs = new Map<string, string>();
      const casOurs = new Map<string, string>();
      const failures: string[] = [];
      for (const [i, c] of corpus(seed, 2500).entries()) {
        const withCas = (m: Map<string, string>): string[] =>
          c.tokens.map((t) => (t.startsWith('$CAS:') ? (m.get(t.slice(5)) ?? '1') : t));
        const theirs = await mcd.call({ ...c, tokens: withCas(casTheirs) });
        const ours = store.executeMemcache(c.verb, withCas(casOurs).map(B), c.data === undefined ? undefined : B(c.data)).toString('latin1');
        rememberCas(theirs, casTheirs);
        rememberCas(ours, casOurs);
        if (maskCas(theirs) !== maskCas(ours)) {
          failures.push(`#${i} ${JSON.stringify(c)}\n    memcached: ${JSON.stringify(theirs)}\n    ours:      ${JSON.stringify(ours)}`);
          if (failures.length >= 15) break;
        }
      }
      expect(failures, failures.join('\n')).toEqual([]);
    });
  }
});
