// dynomite-ts used as a library: the public entry point starts a node in-process, from a Netflix
// YAML config, and serves a Redis client.
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as lib from '../src/index.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops) await s();
});

describe('library entry point (src/index.ts)', () => {
  it('loads a Netflix YAML config and runs a node on the embedded datastore', async () => {
    const port = await freePort();
    const stats = await freePort();
    const config = lib.parseConfig(
      `dyn_o_mite:\n  listen: 127.0.0.1:${port}\n  stats_listen: 127.0.0.1:${stats}\n  tokens: '101134286'\n  data_store: memory\n`,
      'inline.yml',
    );
    const node = await lib.startNode(lib.nodeOptionsFromConfig(config), { logger: pino({ level: 'silent' }) });
    stops.push(() => node.close('test', 100));
    expect(node.port).toBe(port);
    const c = await RawClient.connect(port);
    stops.push(async () => c.close());
    c.write(Buffer.concat([cmd('SET', 'lib', 'ok'), cmd('GET', 'lib')]));
    expect((await c.replies(2)).map(String)).toEqual(['+OK\r\n', '$2\r\nok\r\n']);
    const info = (await (await fetch(`http://127.0.0.1:${stats}/info`)).json()) as Record<string, unknown>;
    expect(info.version).toBe(lib.VERSION);
  });

  it('reports config errors with the file and key', () => {
    expect(() => lib.parseConfig('dyn_o_mite:\n  listen: 127.0.0.1:1\n  tokens: 1\n  timeout: abc\n', 'bad.yml')).toThrow(lib.ConfigError);
    expect(() => lib.parseConfig('dyn_o_mite:\n  listen: 127.0.0.1:1\n  tokens: 1\n  timeout: abc\n', 'bad.yml')).toThrow(/bad\.yml: dyn_o_mite\.timeout/);
  });

  it('exposes the WASM core for hashing and framing', () => {
    const core = lib.createCore({ stagingBytes: 1 << 16, connections: 2, mbufCount: 2 });
    const key = Buffer.from('foo');
    core.u8.set(key, core.stagingPtr);
    expect(core.exports.hashToken(lib.ABI.HASH_MURMUR, core.stagingPtr, key.length) >>> 0).toBeGreaterThan(0);
    const table = lib.loadCommandTable(core);
    expect(table.byName('get')?.flags ?? 0).toBe(lib.ABI.CF_READ);
  });
});
