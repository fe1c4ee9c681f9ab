import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HASH_USAGE, parseHashArgs, runHashCommand, splitKeyLines } from '../src/cli/hash.js';
import { HASH_NAMES } from '../src/wasm/abi.js';

// `dynomite hash` end to end through runHashCommand with in-memory streams: the reference vectors
// (as arguments, as stdin lines, as hex), the stdin line rules, -d, and every error path.

interface Vector { algo: string; key_hex: string; token_hex: string }
const REF = new URL('./fixtures/reference/', import.meta.url);
const VECTORS = [
  ...(JSON.parse(readFileSync(new URL('hashkit_vectors.json', REF), 'utf8')) as Vector[]),
  ...(JSON.parse(readFileSync(new URL('hashkit_vectors_binary.json', REF), 'utf8')) as Vector[]),
];

interface RunResult { code: number; out: string; err: string }

async function run(argv: string[], stdin: string | Buffer = ''): Promise<RunResult> {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  let out = '';
  let err = '';
  io.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
  io.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  io.stdin.end(stdin);
  const code = await runHashCommand(argv, io);
  return { code, out, err };
}

function byAlgo(algo: string): Vector[] {
  return VECTORS.filter((v) => v.algo === algo);
}

/** Keys of the vectors that survive as a UTF-8 argument and contain no newline. */
function textVectors(algo: string): Vector[] {
  return byAlgo(algo).filter((v) => {
    const k = Buffer.from(v.key_hex, 'hex');
    return !k.includes(0x0a) && !k.includes(0x00) && Buffer.from(k.toString('utf8'), 'utf8').equals(k);
  });
}

describe('dynomite hash: reference vectors', () => {
  for (const algo of HASH_NAMES) {
    it(`${algo}: every vector through -x arguments`, async () => {
      const vs = byAlgo(algo);
      const r = await run(['-a', algo, '-x', ...vs.map((v) => v.key_hex)]);
      expect(r).toEqual({ code: 0, out: vs.map((v) => `${v.token_hex}\n`).join(''), err: '' });
    });
  }

  it('every vector through -x stdin lines', async () => {
    for (const algo of HASH_NAMES) {
      const vs = byAlgo(algo);
      const r = await run(['-x', '--algo', algo], vs.map((v) => `${v.key_hex}\n`).join(''));
      expect(r.out, algo).toBe(vs.map((v) => `${v.token_hex}\n`).join(''));
    }
  });

  it('plain-text keys as arguments and as raw stdin lines give the same tokens', async () => {
    const vs = textVectors('murmur').filter((v) => v.key_hex !== '' && !v.key_hex.startsWith('2d'));
    expect(vs.length).toBeGreaterThan(50);
    const keys = vs.map((v) => Buffer.from(v.key_hex, 'hex'));
    const want = vs.map((v) => `${v.token_hex}\n`).join('');
    expect((await run(keys.map((k) => k.toString('utf8')))).out).toBe(want); // default algo: murmur
    expect((await run([], Buffer.concat(keys.flatMap((k) => [k, Buffer.from('\n')])))).out).toBe(want);
  });

  it('raw stdin carries binary bytes unchanged (everything but the newline)', async () => {
    const vs = byAlgo('one_at_a_time').filter((v) => !Buffer.from(v.key_hex, 'hex').includes(0x0a));
    const stdin = Buffer.concat(vs.flatMap((v) => [Buffer.from(v.key_hex, 'hex'), Buffer.from('\n')]));
    const r = await run(['-aone_at_a_time'], stdin);
    expect(r.out).toBe(vs.map((v) => `${v.token_hex}\n`).join(''));
  });
});

describe('dynomite hash: stdin lines', () => {
  const murmur = async (keys: string[]): Promise<string> => (await run(['-x', ...keys.map((k) => Buffer.from(k, 'latin1').toString('hex'))])).out;

  it('splits on \\n only; a final \\n adds no key; an empty line is the empty key', async () => {
    expect((await run([], 'a\n\nb\n')).out).toBe(await murmur(['a', '', 'b']));
    expect((await run([], 'a\n\nb')).out).toBe(await murmur(['a', '', 'b']));
    expect((await run([], '\n')).out).toBe(await murmur(['']));
    expect((await run([], '\n\n')).out).toBe(await murmur(['', '']));
    expect((await run([], 'a\n\n')).out).toBe(await murmur(['a', '']));
  });

  it('keeps \\r as part of the key', async () => {
    const crlf = await run([], 'abc\r\nabc\n');
    expect(crlf.out).toBe(await murmur(['abc\r', 'abc']));
    expect(crlf.out.split('\n')[0]).not.toBe(crlf.out.split('\n')[1]);
  });

  it('empty stdin means no keys and no output', async () => {
    expect(await run([], '')).toEqual({ code: 0, out: '', err: '' });
  });

  it('hex stdin: empty lines are empty keys, NUL and newline bytes survive', async () => {
    const r = await run(['-x', '-a', 'crc32a'], '\n000a00\n0a\n');
    const want = (await run(['-a', 'crc32a', '-x', '', '000a00', '0a'])).out;
    expect(r.out).toBe(want);
    expect(r.out.split('\n')[0]).toBe('00000000');
  });

  it('reads stdin delivered in many small chunks', async () => {
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
    let out = '';
    io.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const done = runHashCommand(['-a', 'md5'], io);
    for (const piece of ['ab', 'c\nx', 'y', 'z', '\n']) io.stdin.write(piece);
    io.stdin.end();
    expect(await done).toBe(0);
    expect(out).toBe((await run(['-a', 'md5', 'abc', 'xyz'])).out);
  });
});

describe('dynomite hash: output forms', () => {
  it('-d prints 32-bit tokens in decimal', async () => {
    const v = byAlgo('murmur').find((x) => x.key_hex === '616263')!;
    expect((await run(['-d', 'abc'])).out).toBe(`${parseInt(v.token_hex, 16)}\n`);
  });

  it('-d prints the ring token (first word) of multi-word hashes', async () => {
    for (const algo of ['murmur3', 'murmur3_x64_64']) {
      const v = byAlgo(algo).find((x) => x.key_hex === '616263')!;
      const r = await run(['-da', algo, 'abc']);
      expect(r.out, algo).toBe(`${parseInt(v.token_hex.slice(0, 8), 16)}\n`);
    }
  });

  it('-d values above 2^31 print unsigned', async () => {
    const v = byAlgo('crc32a').find((x) => parseInt(x.token_hex, 16) > 0x7fffffff)!;
    const r = await run(['-d', '-x', '-a', 'crc32a', v.key_hex]);
    expect(r.out).toBe(`${parseInt(v.token_hex, 16)}\n`);
  });

  it('-- lets keys start with "-", and a lone "-" is a key', async () => {
    const r = await run(['--', '-x', '-d']);
    expect(r.out).toBe((await run(['-x', Buffer.from('-x').toString('hex'), Buffer.from('-d').toString('hex')])).out);
    expect((await run(['-'])).out).toBe((await run([], '-\n')).out);
  });

  it('accepts algorithm names in any case, and --algo=name', async () => {
    const want = (await run(['-a', 'fnv1a_64', 'k'])).out;
    expect((await run(['-a', 'FNV1A_64', 'k'])).out).toBe(want);
    expect((await run(['--algo=fnv1a_64', 'k'])).out).toBe(want);
    expect((await run(['-afnv1a_64', 'k'])).out).toBe(want);
  });

  it('-h prints the usage and exits 0', async () => {
    for (const flag of ['-h', '--help']) {
      const r = await run([flag, 'ignored']);
      expect(r).toEqual({ code: 0, out: HASH_USAGE, err: '' });
    }
    expect(HASH_USAGE).toContain('murmur3_x64_64');
  });
});

describe('dynomite hash: errors (stderr, exit 2, no stdout)', () => {
  const cases: Array<[string, string[], string, RegExp]> = [
    ['unknown algorithm', ['-a', 'sha1', 'k'], '', /unknown hash algorithm 'sha1'.*one_at_a_time, md5, .*murmur3_x64_64/],
    ['missing algorithm', ['k', '-a'], '', /option '-a' needs an algorithm name/],
    ['unknown flag', ['-q', 'k'], '', /unknown option '-q'/],
    ['unknown flag in a group', ['-xq', 'k'], '', /unknown option '-q' in '-xq'/],
    ['unknown long option', ['--fast', 'k'], '', /unknown option '--fast'/],
    ['odd hex argument', ['-x', '61', 'abc'], '', /bad hex key in argument 2: "abc"/],
    ['non-hex argument', ['-x', 'zz'], '', /bad hex key in argument 1: "zz"/],
    ['bad hex stdin line', ['-x'], '61\n6g\n', /bad hex key in stdin line 2: "6g"/],
    ['\\r in hex stdin', ['-x'], '61\r\n', /bad hex key in stdin line 1: "61\\r"/],
  ];
  for (const [name, argv, stdin, message] of cases) {
    it(name, async () => {
      const r = await run(argv, stdin);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
      expect(r.err.startsWith('dynomite hash: ')).toBe(true);
    });
  }
});

describe('dynomite hash: helpers', () => {
  it('splitKeyLines', () => {
    const split = (s: string): string[] => splitKeyLines(Buffer.from(s)).map((b) => b.toString());
    expect(split('')).toEqual([]);
    expect(split('a')).toEqual(['a']);
    expect(split('a\n')).toEqual(['a']);
    expect(split('a\r\n\nb')).toEqual(['a\r', '', 'b']);
  });

  it('parseHashArgs defaults to murmur', () => {
    expect(parseHashArgs([])).toEqual({ algo: HASH_NAMES.indexOf('murmur'), hex: false, decimal: false, help: false, keys: [] });
  });
});
