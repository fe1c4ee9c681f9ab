// FT index definitions survive a restart with search_definitions_file: written after every change
// (atomically), read back at start-up, each index backfilled from the datastore. A file that is not
// ours stops the start with an error naming it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/conf/load.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import type { RunningNode } from '../src/node.js';
import { parseResp, type RespValue } from '../src/search/resp-conn.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { until } from './helpers/until.js';

const plain = (v: RespValue): unknown => (Buffer.isBuffer(v) ? v.toString('latin1') : Array.isArray(v) ? v.map(plain) : v !== null && typeof v === 'object' ? { err: v.message } : v);

async function call(n: RunningNode, ...args: string[]): Promise<unknown> {
  const c = await RawClient.connect(n.port);
  try {
    c.write(cmd(...args));
    return plain(parseResp((await c.replies(1))[0]!, 0)![0]);
  } finally {
    c.close();
  }
}

let dir: string;
let redis: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dyn-ftdefs-'));
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('search_definitions_file', () => {
  it('keeps the definitions across a restart over redis; the index backfills from the data', async () => {
    const file = join(dir, 'defs.json');
    const opts = { dataStore: 'redis' as const, server: { host: '127.0.0.1', port: redis.port }, searchDefinitionsFile: file };
    const first = await startTestNode(opts);
    try {
      expect(await call(first, 'FT.CREATE', 'idx', 'ON', 'HASH', 'PREFIX', '1', 'p:', 'SCHEMA', 'title', 'TEXT')).toBe('OK');
      expect(await call(first, 'FT.ALTER', 'idx', 'SCHEMA', 'ADD', 'price', 'NUMERIC')).toBe('OK');
      for (let i = 0; i < 20; i++) expect(await call(first, 'HSET', `p:${i}`, 'title', i % 2 ? 'red shoe' : 'blue hat', 'price', String(i))).toBe(2);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { name: string; fields: { name: string }[] }[];
      expect(saved.map((d) => [d.name, d.fields.map((f) => f.name)])).toEqual([['idx', ['title', 'price']]]);
    } finally {
      await first.close('restart', 100);
    }
    const second = await startTestNode(opts);
    try {
      expect(await call(second, 'FT._LIST')).toEqual(['idx']);
      await until('the restored index backfilled', async () => {
        expect(await call(second, 'FT.SEARCH', 'idx', 'red @price:[0 10]', 'NOCONTENT', 'SORTBY', 'price')).toEqual([5, 'p:1', 'p:3', 'p:5', 'p:7', 'p:9']);
      }, 10_000);
      expect(await call(second, 'FT.DROPINDEX', 'idx')).toBe('OK');
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([]);
    } finally {
      await second.close('done', 100);
    }
  });

  it('a file that is not a definitions file stops the start, naming it', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"not": "ours"');
    await expect(startTestNode({ dataStore: 'memory', searchDefinitionsFile: bad })).rejects.toThrow(`search_definitions_file ${bad}: not valid JSON`);
    writeFileSync(bad, '{"not": "ours"}');
    await expect(startTestNode({ dataStore: 'memory', searchDefinitionsFile: bad })).rejects.toThrow(`search_definitions_file ${bad}: expected a JSON array of index definitions`);
  });

  it('is a YAML key', () => {
    const c = parseConfig('dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: "1"\n  data_store: memory\n  search_definitions_file: /var/lib/dynomite/ft.json\n', 'x.yml');
    expect(nodeOptionsFromConfig(c).searchDefinitionsFile).toBe('/var/lib/dynomite/ft.json');
  });
});
