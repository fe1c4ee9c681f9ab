import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ABI, HASH_NAMES } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import { launchChromium, staticServer, foreignRequests, type BrowserSession } from './helpers/browser.js';

// The WASM core in a plain browser page (examples/browser: no bundler, no Node APIs) in headless
// Chromium: the page frames a pasted stream and shows every key's ring token; the tokens must be
// the ones the Node host computes.
const root = new URL('..', import.meta.url).pathname;
let session: BrowserSession;
let server: { url: string; close(): Promise<void> };
let page: Page;

beforeAll(async () => {
  server = await staticServer(root);
  session = await launchChromium();
  page = await session.newPage();
  await page.goto(`${server.url}/examples/browser/index.html`);
  await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
}, 60_000);

afterAll(async () => {
  await session?.close();
  await server?.close();
});

const core = createCore({ records: 64, keys: 256, connections: 2, stagingBytes: 1 << 16, mbufSize: 512, mbufCount: 4 });

/** The Node host's token for a key under a hash and tag. */
function nodeToken(hash: string, key: Buffer, tag: string): number {
  core.exports.configureHash(HASH_NAMES.indexOf(hash as (typeof HASH_NAMES)[number]), tag ? tag.charCodeAt(0) : -1, tag ? tag.charCodeAt(1) : -1);
  core.u8.set(key, core.stagingPtr);
  return core.exports.routingToken(core.stagingPtr, key.length) >>> 0;
}

async function frame(text: string, hash: string, tag = ''): Promise<{ summary: string; rows: Array<{ cmd: string; err: string; keys: Array<{ key: string; token: number }> }> }> {
  await page.fill('#stream', text);
  await page.selectOption('#hash', hash);
  await page.fill('#tag', tag);
  await page.click('#frame');
  return page.evaluate(() => ({
    summary: document.getElementById('summary')!.textContent ?? '',
    rows: [...document.querySelectorAll('#frames tbody tr')].map((tr) => ({
      cmd: tr.querySelector('.cmd')!.textContent ?? '',
      err: tr.querySelector('.err')!.textContent ?? '',
      keys: [...tr.querySelectorAll('.key')].map((k) => ({ key: k.querySelector('code')!.textContent ?? '', token: Number((k as HTMLElement).dataset.token) })),
    })),
  }));
}

describe('WASM core in a browser page (headless Chromium)', () => {
  it('loads with no console errors and requests nothing but loopback', async () => {
    expect(await page.getAttribute('body', 'data-ready')).toBe('true');
    expect(await page.textContent('#abi')).toBe(`ABI_VERSION ${ABI.ABI_VERSION}`);
    // The sample stream is framed on load.
    expect((await page.$$('#frames tbody tr')).length).toBe(2);
    expect(session.problems).toEqual([]);
    expect(foreignRequests(session.requests)).toEqual([]);
  });

  it('shows every frame and each key ring token as the Node host computes them, for all 14 hashes', async () => {
    const text = '*3\\r\\n$3\\r\\nSET\\r\\n$4\\r\\nk\\xff\\x00z\\r\\n$1\\r\\nv\\r\\n' +
      'MGET {u7}:a {u7}:b plain\n*2\\r\\n$4\\r\\nINCR\\r\\n$7\\r\\ncounter\\r\\nPING\nNOSUCH x\n';
    const keys = [Buffer.from([0x6b, 0xff, 0x00, 0x7a]), Buffer.from('{u7}:a'), Buffer.from('{u7}:b'), Buffer.from('plain'), Buffer.from('counter')];
    for (const hash of HASH_NAMES) {
      const got = await frame(text, hash, '{}');
      expect(got.rows.map((r) => r.cmd), hash).toEqual(['SET', 'MGET', 'INCR', 'PING', 'NOSUCH']);
      expect(got.rows.map((r) => r.keys.length), hash).toEqual([1, 3, 1, 0, 0]);
      expect(got.rows[4]!.err).toBe('ERR_UNKNOWN_CMD');
      const tokens = got.rows.flatMap((r) => r.keys.map((k) => k.token));
      expect(tokens, hash).toEqual(keys.map((k) => nodeToken(hash, k, '{}')));
      expect(got.rows[0]!.keys[0]!.key).toBe('k\\xff\\x00z');
      expect(tokens[1]).toBe(tokens[2]); // one hash tag, one token
    }
  }, 60_000);

  it('reports a partial request and a protocol error with its byte position', async () => {
    const partial = await frame('*2\\r\\n$3\\r\\nGET\\r\\n$10\\r\\nabc', 'murmur');
    expect(partial.rows).toEqual([]);
    expect(partial.summary).toContain('bytes of a partial request');
    const bad = await frame('PING\n*1\\r\\n!4\\r\\nPING\\r\\n', 'murmur');
    expect(bad.rows.map((r) => r.cmd)).toEqual(['PING']);
    expect(bad.summary).toContain('protocol error E_BAD_TYPE at byte 10');
    expect(session.problems).toEqual([]);
  });
});
