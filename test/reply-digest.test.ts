// Reply digests: the reply framers' REC_DIGEST is what the fan-out coalesces on (a local datastore's
// replies), and the fan-out's own digest of a peer's reply must be the same function, or identical
// replies from the two would count as divergent. The digest is plain XXH64 of the reply bytes (no
// normalization): equal bytes, equal digest. A connection that reads no digests skips them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABI } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import { Framer, setReplyDigests, type FrameSink } from '../src/wasm/framer.js';
import { ServerConn } from '../src/net/server-conn.js';
import { Flusher } from '../src/net/flusher.js';
import type { ReplyTarget } from '../src/dispatch/request.js';
import { cmd } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { until } from './helpers/until.js';

const core = createCore({ records: 64, keys: 256, stagingBytes: 1 << 20, connections: 16, mbufCount: 4 });
const ex = core.exports;
const S = core.stagingPtr + (1 << 19);

/** What the fan-out computes for a reply that has no record (a peer's RES payload). */
function computed(bytes: Buffer): string {
  core.u8.set(bytes, S);
  const lo = ex.digestLo(S, bytes.length) >>> 0;
  const hi = ex.digestHi() >>> 0;
  return `${hi.toString(16)}:${lo.toString(16)}`;
}

const recDigest = (r: number): string => `${(core.i32[r + ABI.REC_DIGEST_HI]! >>> 0).toString(16)}:${(core.i32[r + ABI.REC_DIGEST_LO]! >>> 0).toString(16)}`;

/** Frames `stream` with a reply framer; each reply's bytes and record digest. */
function frame(mode: 'resp-reply' | 'mc-reply', stream: string, digests = true): { bytes: Buffer; digest: string }[] {
  const f = new Framer(core, mode);
  if (!digests) setReplyDigests(core, f, false);
  const out: { bytes: Buffer; digest: string }[] = [];
  const sink: FrameSink = {
    onFrames(_f, base, count) {
      for (let i = 0; i < count; i++) {
        const r = (core.recPtr >> 2) + i * ABI.REC_WORDS;
        const start = base + core.i32[r + ABI.REC_START]!;
        out.push({ bytes: Buffer.from(core.u8.subarray(start, start + core.i32[r + ABI.REC_LEN]!)), digest: recDigest(r) });
      }
    },
  };
  f.feed(Buffer.from(stream, 'latin1'), sink);
  f.close();
  return out;
}

const RESP = [
  '+OK\r\n', ':1\r\n', '-ERR wrong\r\n', '$5\r\nhello\r\n', '$-1\r\n', '*2\r\n$1\r\na\r\n:7\r\n',
  '*1\r\n*2\r\n+x\r\n$0\r\n\r\n', `$${70000}\r\n${'v'.repeat(70000)}\r\n`, '%1\r\n+k\r\n,1.5\r\n',
];
const MC = ['STORED\r\n', 'VALUE k 0 2\r\nab\r\nVALUE j 5 1\r\nc\r\nEND\r\n', 'END\r\n', '42\r\n', 'SERVER_ERROR oops\r\n'];

describe('the reply framers\' digest', () => {
  it('equals the digest the fan-out computes for the same bytes (RESP fast and general paths, memcached)', () => {
    for (const [mode, replies] of [['resp-reply', RESP], ['mc-reply', MC]] as const) {
      const got = frame(mode, replies.join(''));
      expect(got.map((g) => g.bytes.toString('latin1'))).toEqual(replies);
      expect(got.map((g) => g.digest)).toEqual(replies.map((r) => computed(Buffer.from(r, 'latin1'))));
    }
  });

  it('is equal for equal replies and differs for replies that differ by a byte', () => {
    const [a, b, c] = frame('resp-reply', '$3\r\nabc\r\n$3\r\nabc\r\n$3\r\nabd\r\n');
    expect(a!.digest).toBe(b!.digest);
    expect(c!.digest).not.toBe(a!.digest);
    // The digest does not normalize: the same value in another RESP form is another reply.
    const [bulk, line] = frame('resp-reply', '$2\r\nOK\r\n+OK\r\n');
    expect(bulk!.digest).not.toBe(line!.digest);
  });

  it('is 0 on a connection that reads no digests, and the replies are framed the same', () => {
    const got = frame('resp-reply', RESP.join(''), false);
    expect(got.map((g) => g.bytes.toString('latin1'))).toEqual(RESP);
    expect(got.map((g) => g.digest)).toEqual(RESP.map(() => '0:0'));
    const mc = frame('mc-reply', MC.join(''), false);
    expect(mc.map((g) => g.digest)).toEqual(MC.map(() => '0:0'));
  });
});

describe('a datastore connection', () => {
  let redis: RunningServer;
  let conn: ServerConn;
  beforeAll(async () => {
    redis = await startRedis();
    conn = new ServerConn(core, { host: '127.0.0.1', port: redis.port, protocol: 'redis', timeoutMs: 5000, maxMessage: 1 << 20 }, new Flusher(), { onUp: () => {}, onDown: () => {} });
    await conn.open();
  });
  afterAll(async () => {
    conn?.close();
    await redis?.stop();
  });

  /** Sends each request with a target; resolves with what each target got (bytes, the record's digest or none). */
  function ask(requests: Buffer[], readsDigests: boolean): Promise<{ reply: string; digest: string | undefined }[]> {
    const got: { reply: string; digest: string | undefined }[] = [];
    const target: ReplyTarget = {
      readsDigests,
      complete: (_s, src, off, len, rec) => void got.push({ reply: Buffer.from(src.subarray(off, off + len)).toString('latin1'), digest: rec === undefined ? undefined : recDigest(rec) }),
      completeBuffer: (_s, b) => void got.push({ reply: b.toString('latin1'), digest: undefined }),
      fail: (_s, code) => void got.push({ reply: `fail ${code}`, digest: undefined }),
    };
    for (const [i, r] of requests.entries()) {
      core.u8.set(r, S);
      conn.send(target, i, S, r.length, true);
    }
    return until('every reply', () => got.length === requests.length, 5000).then(() => got);
  }

  it('hands a target that reads digests each reply\'s record digest: the XXH64 of its bytes', async () => {
    const got = await ask([cmd('SET', 'k', 'v'), cmd('GET', 'k'), cmd('GET', 'k'), cmd('GET', 'nope')], true);
    expect(got.map((g) => g.reply)).toEqual(['+OK\r\n', '$1\r\nv\r\n', '$1\r\nv\r\n', '$-1\r\n']);
    expect(got.map((g) => g.digest)).toEqual(got.map((g) => computed(Buffer.from(g.reply, 'latin1'))));
  });

  it('has its framer skip digests while no request in flight reads them, and digest again when one does', async () => {
    const noDigest = (): number => core.i32[(ex.conn_ptr((conn as unknown as { framer: Framer }).framer.slot) + ABI.CONN_NO_DIGEST) >> 2]!;
    const plain = await ask([cmd('GET', 'k')], false);
    expect(plain).toEqual([{ reply: '$1\r\nv\r\n', digest: undefined }]);
    expect(noDigest()).toBe(1);
    const again = await ask([cmd('GET', 'k')], true);
    expect(again).toEqual([{ reply: '$1\r\nv\r\n', digest: computed(Buffer.from('$1\r\nv\r\n')) }]);
    expect(noDigest()).toBe(0);
  });
});
