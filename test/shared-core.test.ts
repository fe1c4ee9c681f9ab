// sharedCore(): one core per process; a caller asking for sizes the core was not created with is
// told so (which sizes, and where the core was created) instead of silently getting other sizes.
// Its own file: vitest gives each file a fresh module state, so this file creates the shared core.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CORE_OPTIONS, sharedCore } from '../src/wasm/core.js';
import { startTestNode } from './helpers/node.js';

describe('sharedCore', () => {
  const first = sharedCore({ mbufSize: 512 });

  it('returns the same core for the same sizes, for sizes left out and for no sizes', () => {
    expect(sharedCore({ mbufSize: 512 })).toBe(first);
    expect(sharedCore({ stagingBytes: DEFAULT_CORE_OPTIONS.stagingBytes })).toBe(first);
    expect(sharedCore({ mbufSize: undefined })).toBe(first);
    expect(sharedCore()).toBe(first);
    expect(first.options.mbufSize).toBe(512);
  });

  it('refuses different sizes, naming each one and where the core was created', () => {
    let err: Error | undefined;
    try {
      sharedCore({ mbufSize: 1024, records: 16, stagingBytes: DEFAULT_CORE_OPTIONS.stagingBytes });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/^sharedCore: asked for mbufSize 1024 \(the shared core has 512\), records 16 \(the shared core has 4096\); /);
    expect(err?.message).toMatch(/created at .*shared-core\.test\.ts:\d+/);
    expect(err?.message).not.toContain('stagingBytes');
  });

  it('makes startNode fail for a node whose mbuf_size differs from the core of its process', async () => {
    await expect(startTestNode({ dataStore: 'memory', mbufSize: 16384 })).rejects.toThrow(/mbufSize 16384 \(the shared core has 512\).*created at .*shared-core\.test\.ts/);
  });

  it('lets nodes with max_message_bytes up to the default share the core, and refuses a larger one', async () => {
    const n = await startTestNode({ dataStore: 'memory', mbufSize: 512, maxMessageBytes: 1 << 20 });
    try {
      expect(n.core).toBe(first);
    } finally {
      await n.close();
    }
    const big = DEFAULT_CORE_OPTIONS.stagingBytes * 2;
    await expect(startTestNode({ dataStore: 'memory', mbufSize: 512, maxMessageBytes: big })).rejects.toThrow(`stagingBytes ${big} (the shared core has ${DEFAULT_CORE_OPTIONS.stagingBytes})`);
  });
});
