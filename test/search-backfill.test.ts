// Backfill of a new FT index shows its progress: FT.INFO `indexing` / `percent_indexed` while it
// runs, and a log event at the start, at each further tenth and at the end; a scan that fails says
// why and leaves percent_indexed where it stopped (never a silent 100%).
import { describe, expect, it } from 'vitest';
import { SearchEngine, type BackfillEvent, type DocSource } from '../src/search/engine.js';
import { logBackfill } from '../src/search/node-search.js';

/** A datastore of `n` hashes scanned in batches of 10; `failAfter` batches then a scan error. */
function source(n: number, failAfter = Infinity): DocSource & { release(): void } {
  let gate: () => void = () => undefined;
  return {
    async scan(visit, progress) {
      for (let b = 0; b * 10 < n; b++) {
        if (b >= failAfter) throw new Error('datastore connection lost at batch ' + b);
        for (let i = b * 10; i < Math.min(n, b * 10 + 10); i++) visit(`doc:${i}`, new Map([['title', Buffer.from(`hello ${i}`)]]));
        progress(Math.min(1, (b * 10 + 10) / n));
        if (b === 4) await new Promise<void>((r) => (gate = r));
      }
    },
    async deleteKeys() {},
    async sync() {},
    activate() {},
    release: () => gate(),
  };
}

const info = async (e: SearchEngine, name: string): Promise<Record<string, string>> => {
  const r = (await e.execute(['FT.INFO', name].map((s) => Buffer.from(s)))) as unknown[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < r.length; i += 2) if (typeof r[i + 1] === 'string') out[String(r[i])] = String(r[i + 1]);
  return out;
};
const create = (e: SearchEngine) => e.execute('FT.CREATE idx ON HASH PREFIX 1 doc: SCHEMA title TEXT'.split(' ').map((s) => Buffer.from(s)));

describe('FT index backfill progress', () => {
  it('reports start, each tenth and done; FT.INFO shows indexing and percent_indexed meanwhile', async () => {
    const events: BackfillEvent[] = [];
    const e = new SearchEngine({ onBackfill: (ev) => events.push(ev) });
    const src = source(100);
    e.attach(src);
    await create(e);
    // The scan waits after its 5th batch of 10: half done.
    const mid = await info(e, 'idx');
    expect([mid.indexing, mid.percent_indexed, mid.num_docs]).toEqual(['1', '0.5', '50']);
    src.release();
    await new Promise((r) => setTimeout(r, 10));
    expect(events.map((x) => [x.phase, x.fraction, x.indexed])).toEqual([
      ['start', 0, 0], ['progress', 0.1, 10], ['progress', 0.2, 20], ['progress', 0.3, 30], ['progress', 0.4, 40],
      ['progress', 0.5, 50], ['progress', 0.6, 60], ['progress', 0.7, 70], ['progress', 0.8, 80], ['progress', 0.9, 90],
      ['done', 1, 100],
    ]);
    const end = await info(e, 'idx');
    expect([end.indexing, end.percent_indexed, end.num_docs]).toEqual(['0', '1', '100']);
  });

  it('a failed scan says why and keeps percent_indexed where it stopped', async () => {
    const events: BackfillEvent[] = [];
    const e = new SearchEngine({ onBackfill: (ev) => events.push(ev) });
    e.attach(source(100, 3));
    await create(e);
    await new Promise((r) => setTimeout(r, 10));
    expect(events.at(-1)).toMatchObject({ phase: 'failed', fraction: 0.3, indexed: 30, error: 'datastore connection lost at batch 3' });
    const after = await info(e, 'idx');
    expect([after.indexing, after.percent_indexed]).toEqual(['0', '0.3']);
  });

  it('logs one line per event, a failure as a warning', () => {
    const lines: Array<[string, object, string]> = [];
    const log = { info: (o: object, m: string) => lines.push(['info', o, m]), warn: (o: object, m: string) => lines.push(['warn', o, m]) };
    logBackfill(log as never, { index: 'idx', phase: 'progress', fraction: 0.25, indexed: 5, elapsedMs: 7 });
    logBackfill(log as never, { index: 'idx', phase: 'failed', fraction: 0.5, indexed: 9, elapsedMs: 8, error: 'boom' });
    expect(lines).toEqual([
      ['info', { index: 'idx', percent: 25, indexed: 5, elapsedMs: 7 }, 'search: backfill progress'],
      ['warn', { index: 'idx', percent: 50, indexed: 9, elapsedMs: 8, err: 'boom' }, 'search: backfill failed; the index keeps what it read'],
    ]);
  });
});
