// Framer (src/wasm/framer.ts): a sink may run other framing calls inside onFrames (the dnode
// listener frames each payload in place, the fan-out digests replies), which overwrite the core's
// RESULT block and record table. The Framer reads its whole RESULT block before the sink runs, so
// the sink needs to save nothing: only the records it still reads after its own framing calls.
import { describe, expect, it } from 'vitest';
import { ABI } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import { Framer, stagingScratchHigh, type FrameSink } from '../src/wasm/framer.js';

// A table of 4 records: 10 pipelined requests take several framing calls (RES_MORE).
const core = createCore({ records: 4, stagingBytes: 1 << 16, connections: 8, mbufCount: 4 });
const cmd = (...a: string[]): string => `*${a.length}\r\n${a.map((x) => `$${x.length}\r\n${x}\r\n`).join('')}`;

describe('Framer', () => {
  it('keeps framing correctly when its sink runs other framing calls (RESULT block and records overwritten)', () => {
    const outer = new Framer(core, 'resp-request');
    const inner = new Framer(core, 'resp-reply');
    const replies = Buffer.from('+OK\r\n:1\r\n$5\r\nhel'); // two replies and a partial one: CONSUMED 9, NEED set
    const seen: string[] = [];
    let clobbered = 0;
    const sink: FrameSink = {
      onFrames(_f, base, count) {
        const r0 = core.recPtr >> 2;
        for (let i = 0; i < count; i++) {
          const r = r0 + i * ABI.REC_WORDS;
          const start = base + core.i32[r + ABI.REC_START]!;
          seen.push(core.buf.toString('latin1', start, start + core.i32[r + ABI.REC_LEN]!));
        }
        const before = core.i32.slice(core.resPtr >> 2, (core.resPtr >> 2) + 8);
        const at = stagingScratchHigh(core, replies.length);
        core.u8.set(replies, at);
        expect(core.exports.respFrameReplies(inner.slot, at, replies.length)).toBe(2);
        const after = core.i32.slice(core.resPtr >> 2, (core.resPtr >> 2) + 8);
        if (after.some((v, i) => v !== before[i])) clobbered++;
      },
    };
    const requests = Array.from({ length: 10 }, (_, i) => cmd('SET', `k${i}`, `v${i}`));
    const partial = cmd('GET', 'last');
    outer.feed(Buffer.from(requests.join('') + partial.slice(0, 9)), sink);
    expect(seen).toEqual(requests);
    expect(clobbered).toBe(3); // 4 + 4 + 2 records: three calls, each followed by a clobbering one
    expect(outer.pendingBytes).toBe(9);
    outer.feed(Buffer.from(partial.slice(9)), sink);
    expect(seen).toEqual([...requests, partial]);
    expect(outer.pendingBytes).toBe(0);
    outer.close();
    inner.close();
  });
});
