import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ABI, HASH_NAMES } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import { Framer, FramingError, type FrameSink } from '../src/wasm/framer.js';
import { wasmPath } from '../src/wasm/core.js';

// The WASM core in a host that is not JavaScript: Python through the `wasmtime` package, written
// from docs/wasm-abi.md alone (examples/python/). It must reproduce every reference hash vector and
// frame RESP exactly as the Node host does, under all 14 hashes.
const root = new URL('..', import.meta.url).pathname;
const fixtures = join(root, 'test/fixtures/reference');
const tmp = mkdtempSync(join(tmpdir(), 'dyn-py-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const probe = spawnSync('python3', ['-c', 'import wasmtime'], { encoding: 'utf8' });
if (probe.status !== 0) {
  throw new Error(`python3 with the wasmtime package is required (pip install wasmtime==49.0.0; .ci/run does it): ${probe.stderr}`);
}

interface PyKey { key: string; token: number; arg: number }
interface PyFrame { start: number; length: number; command: string; cmd: number; argc: number; err: number; keys: PyKey[] }
interface PyStream { error: { code: number; position: number } | null; frames: PyFrame[] }
interface PyOut { abi: number; vectors: number; algos: string[]; wrong: unknown[]; framed: Array<Record<string, PyStream>> }

/** A request stream that exercises what a host must handle: binary and tagged keys, multi-key
 * commands, inline commands, unknown commands, more messages than the record table holds, and a
 * partial message at the end. */
function corpus(): Buffer {
  const parts: Buffer[] = [];
  const cmd = (...args: Array<string | Buffer>) => {
    parts.push(Buffer.from(`*${args.length}\r\n`));
    for (const a of args) {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
  };
  for (let i = 0; i < 1500; i++) {
    switch (i % 6) {
      case 0: cmd('SET', `key:${i}`, `v${i}`); break;
      case 1: cmd('MGET', `{user${i % 7}}:a`, `{user${i % 7}}:b`, Buffer.from([0xff, 0x00, i & 0xff, 0x80])); break;
      case 2: parts.push(Buffer.from(`GET inline:${i}\r\n`)); break;
      case 3: cmd('MSET', `a${i}`, '1', `b${i}`, '2'); break;
      case 4: cmd('NOSUCHCOMMAND', 'x'); break;
      default: cmd('HSET', `h:${i}`, 'f', Buffer.alloc(300, i & 0xff));
    }
  }
  parts.push(Buffer.from('*2\r\n$3\r\nGET\r\n$5\r\nparti'));
  return Buffer.concat(parts);
}

/** Same stream through the Node host (Framer). */
const core = createCore({ records: 1024, keys: 16384, connections: 4, stagingBytes: 1 << 20, mbufSize: 512, mbufCount: 4 });

function nodeFrames(stream: Buffer, algo: number): PyStream {
  core.exports.configureHash(algo, '{'.charCodeAt(0), '}'.charCodeAt(0));
  const frames: PyFrame[] = [];
  const sink: FrameSink = {
    onFrames(_f, base, count) {
      const i32 = core.i32;
      for (let i = 0; i < count; i++) {
        const r = (core.recPtr >> 2) + i * ABI.REC_WORDS;
        const at = base - core.stagingPtr;
        const nameOff = at + i32[r + ABI.REC_NAME_OFF]!;
        const keys: PyKey[] = [];
        const first = i32[r + ABI.REC_KEY_FIRST]!;
        for (let k = first; k < first + i32[r + ABI.REC_NKEYS]!; k++) {
          const e = (core.keyPtr >> 2) + k * ABI.KEY_WORDS;
          const off = at + i32[e + ABI.KEY_OFF]!;
          keys.push({ key: stream.subarray(off, off + i32[e + ABI.KEY_LEN]!).toString('hex'), token: i32[e + ABI.KEY_TOKEN]! >>> 0, arg: i32[e + ABI.KEY_ARG]! });
        }
        frames.push({
          start: at + i32[r + ABI.REC_START]!, length: i32[r + ABI.REC_LEN]!,
          command: stream.subarray(nameOff, nameOff + i32[r + ABI.REC_NAME_LEN]!).toString('latin1'),
          cmd: i32[r + ABI.REC_CMD]!, argc: i32[r + ABI.REC_ARGC]!, err: i32[r + ABI.REC_ERR]!, keys,
        });
      }
    },
  };
  const framer = new Framer(core, 'resp-request');
  try {
    framer.feed(stream, sink);
    return { error: null, frames };
  } catch (e) {
    if (!(e instanceof FramingError)) throw e;
    return { error: { code: e.code, position: e.position }, frames };
  } finally {
    framer.close();
  }
}

describe('WASM core in Python (wasmtime)', () => {
  const good = corpus();
  const bad = Buffer.from('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n!4\r\nPING\r\n');
  writeFileSync(join(tmp, 'good.resp'), good);
  writeFileSync(join(tmp, 'bad.resp'), bad);
  const out = JSON.parse(execFileSync('python3', [
    join(root, 'examples/python/check_host.py'), wasmPath(),
    join(fixtures, 'hashkit_vectors.json'), join(fixtures, 'hashkit_vectors_binary.json'),
    '--', join(tmp, 'good.resp'), join(tmp, 'bad.resp'),
  ], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } })) as PyOut;

  it('reads ABI_VERSION from the module', () => {
    expect(out.abi).toBe(ABI.ABI_VERSION);
  });

  it('reproduces all 1739 reference vectors of the 14 hashes (hashFull and hashToken)', () => {
    expect(out.wrong).toEqual([]);
    expect(out.vectors).toBe(1739);
    expect(out.algos.sort()).toEqual([...HASH_NAMES].sort());
  });

  it('frames RESP with every key token as the Node host does, under all 14 hashes', () => {
    const py = out.framed[0]!;
    expect(Object.keys(py)).toEqual([...HASH_NAMES]);
    for (const [id, name] of HASH_NAMES.entries()) {
      const want = nodeFrames(good, id);
      expect(want.frames.length).toBe(1500); // the partial GET at the end is not a message yet
      expect(py[name], name).toEqual(want);
    }
    // Tokens differ between hashes (each configured hash is really used) and the tag is applied.
    const first = (n: string) => py[n]!.frames[1]!.keys.map((k) => k.token);
    expect(new Set(HASH_NAMES.map((n) => first(n)[0])).size).toBeGreaterThan(10);
    expect(first('murmur')[0]).toBe(first('murmur')[1]); // {user1}:a and {user1}:b
  });

  it('reports a protocol error with its position and the frames before it', () => {
    const py = out.framed[1]!.murmur!;
    expect(py.error).toEqual({ code: ABI.E_BAD_TYPE, position: bad.indexOf('!') });
    expect(py.frames.map((f) => f.command)).toEqual(['PING', 'GET']);
    expect(py).toEqual(nodeFrames(bad, ABI.HASH_MURMUR));
  });
});
