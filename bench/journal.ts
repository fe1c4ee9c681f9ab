// The write journal's cost per write, in-process, no sockets: JournalBackend.forward of one framed
// SET over a backend that answers at once, against that backend alone; then its parts.
//
//   npx tsx bench/journal.ts
import { createCore } from '../src/wasm/core.js';
import { JournalBackend } from '../src/repair/journal-backend.js';
import { WriteJournal } from '../src/repair/write-journal.js';
import { ABI } from '../src/wasm/abi.js';
const core = createCore();
const bytes = Buffer.from('*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n');
const at = core.stagingPtr;
core.u8.set(bytes, at);
core.exports.respFrameRequests(0, at, bytes.length);
const r = core.recPtr >> 2;
const req = { off: at + core.i32[r + ABI.REC_START]!, len: core.i32[r + ABI.REC_LEN]!, rec: r, base: at, expectReply: true, inline: false };
const reply = Buffer.from('+OK\r\n');
const inner = { name: 'x', forward: (t: any, seq: number) => t.complete(seq, reply, 0, 5), start: async () => {}, close: async () => {}, inflight: () => 0 };
const target = { complete() {}, completeBuffer() {}, fail() {}, readsDigests: true };
const j = new WriteJournal();
const jb = new JournalBackend(inner as any, core, j, 'redis');
for (const [name, be] of [['plain', inner], ['journal', jb]] as const) {
  for (let round = 0; round < 3; round++) {
    const N = 1_000_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) (be as any).forward(target, i, req, 0);
    console.log(name, ((performance.now() - t0) * 1e6 / N).toFixed(0), 'ns per forward');
  }
}
{
      const N = 1_000_000;
  const pp: any = { keys: [], tokens: [], kind: 0 };
  let t0 = performance.now();
  for (let i = 0; i < N; i++) { pp.keys.length = 0; pp.tokens.length = 0; (jb as any).keysOfRecord(req, pp); }
  console.log('keysOfRecord', ((performance.now() - t0) * 1e6 / N).toFixed(0));
  t0 = performance.now();
  for (let i = 0; i < N; i++) core.buf.toString('latin1', at, at + 16);
  console.log('toString', ((performance.now() - t0) * 1e6 / N).toFixed(0));
  t0 = performance.now();
  for (let i = 0; i < N; i++) Date.now();
  console.log('Date.now', ((performance.now() - t0) * 1e6 / N).toFixed(0));
}
