// The durable write journal (src/repair/journal-log.ts): entries and floors survive a clean close
// and a crash (the floor then covers the last flush period), and in a cluster a node restarted with
// its hints_dir still refuses an older SET hint for a key it deleted before the restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JournalLog } from '../src/repair/journal-log.js';
import { WriteJournal } from '../src/repair/write-journal.js';
import { startNode, type RunningNode } from '../src/node.js';
import { nodeOptions, silentLogger } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort, startRedis, type RunningServer } from './helpers/servers.js';
import { until } from './helpers/until.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'journal-log-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const k = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('JournalLog', () => {
  it('a clean close keeps every entry, the hinted flag and the floors; no floor raise', () => {
    const dir = tempDir();
    const now = Date.now();
    const j = new WriteJournal({ maxKeys: 3 });
    const log = new JournalLog(j, { dir });
    j.recordName('a', now - 30, false, 1);
    j.recordName('gone', now - 25, true, 2);
    j.recordName('b', now - 20, false, 3, true);
    j.recordName('c', now - 10, false, 4);
    const reverted = j.recordName('d', now - 5, false, 5); // evicts a: floorFor(a) = now - 30
    j.revertName('d', reverted, undefined);
    log.close();
    const j2 = new WriteJournal({ maxKeys: 3 });
    const log2 = new JournalLog(j2, { dir });
    cleanups.push(() => log2.close());
    expect(j2.lookup(k('gone'))).toMatchObject({ ts: now - 25, deleted: true, token: 2 });
    expect(j2.lookup(k('b'))).toMatchObject({ ts: now - 20, deleted: false, token: 3, hinted: true });
    expect(j2.lookup(k('c'))?.ts).toBe(now - 10);
    expect(j2.lookup(k('a'))).toBeUndefined();
    expect(j2.lookup(k('d'))).toBeUndefined();
    expect(j2.floorMs).toBe(now - 30);
    expect(j2.floorFor(k('a'))).toBe(now - 30);
    expect(j2.floorFor(k('c'))).toBe(0);
  });

  it('after a crash the floor covers the writes of the last flush period', () => {
    const dir = tempDir();
    let now = 1_764_000_000_000;
    const j = new WriteJournal({ now: () => now });
    const log = new JournalLog(j, { dir, flushMs: 1000, now: () => now });
    j.recordName('x', now, true, 1);
    log.flush();
    now += 300;
    j.recordName('lost', now, false, 1); // buffered, never flushed: the process dies here
    const j2 = new WriteJournal({ now: () => now });
    const log2 = new JournalLog(j2, { dir, flushMs: 1000, now: () => now });
    cleanups.push(() => log2.close());
    expect(j2.lookup(k('x'))?.deleted).toBe(true);
    expect(j2.lookup(k('lost'))).toBeUndefined();
    expect(j2.floorFor(k('lost'))).toBe(now - 300 + 1000);
    expect(j2.floorMs).toBe(now - 300 + 1000);
  });
});

describe('tombstones across a node restart with hints_dir', () => {
  it('a node restarted with its hints dir skips an older SET hint for a key it deleted before', async () => {
    const TOKEN = 101134286;
    const [da, db] = [await freePort(), await freePort()];
    const ra: RunningServer = await startRedis();
    cleanups.push(() => ra.stop());
    const rb: RunningServer = await startRedis();
    cleanups.push(() => rb.stop());
    const dirA = tempDir();
    const start = async (redis: RunningServer, rack: string, dyn: number, other: number, dir?: string): Promise<RunningNode> => {
      const n = await startNode(nodeOptions({
        dataStore: 'redis', server: { host: '127.0.0.1', port: redis.port }, rack, datacenter: 'dc1', tokens: [TOKEN], timeoutMs: 3000,
        cluster: {
          dynListen: { host: '127.0.0.1', port: dyn }, seeds: [{ host: '127.0.0.1', port: other, rack: rack === 'rack1' ? 'rack2' : 'rack1', dc: 'dc1', tokens: [TOKEN] }],
          localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 3000, peerWriteTimeoutMs: 3000, hints: dir === undefined ? undefined : { dir },
        },
      }), { logger: silentLogger });
      return n;
    };
    let a = await start(ra, 'rack1', da, db, dirA);
    cleanups.push(() => a.close('test done', 100));
    const b = await start(rb, 'rack2', db, da);
    cleanups.push(() => b.close('test done', 100));
    await until('links up', () => expect([a.cluster!.peerCaps.of(1), b.cluster!.peerCaps.of(1)]).toEqual(['dynomite-ts', 'dynomite-ts']), 10_000);
    const call = async (port: number, ...args: string[]): Promise<string> => {
      const c = await RawClient.connect(port);
      try {
        c.write(cmd(...args));
        return (await c.replies(1))[0]!.toString('latin1');
      } finally {
        c.close();
      }
    };
    // B cannot reach A: its SET is hinted for A. Then A deletes the key (A never had it: :0, still
    // a tombstone; B applies the DEL too).
    b.cluster!.peerAction('down', `127.0.0.1:${da}`);
    expect(await call(b.port, 'SET', 'k', 'v')).toBe('+OK\r\n');
    expect(await call(a.port, 'DEL', 'k')).toBe(':0\r\n');
    await until('B applied the DEL', async () => expect(await call(rb.port, 'EXISTS', 'k')).toBe(':0\r\n'));
    await a.close('test: restart', 100);
    a = await start(ra, 'rack1', da, db, dirA);
    expect(a.cluster!.journal.lookup(k('k'))?.deleted).toBe(true);
    b.cluster!.peerAction('up', `127.0.0.1:${da}`);
    await until('the hint delivered', () => expect(b.cluster!.hints.pending).toBe(0), 10_000);
    expect(a.cluster!.hintApply.counts).toEqual({ applied: 0, skippedNewer: 1, skippedFloor: 0 });
    expect(await call(ra.port, 'EXISTS', 'k')).toBe(':0\r\n');
  }, 30_000);
});
