import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABI } from '../src/wasm/abi.js';
import { ensureBuilt, ROOT } from './helpers/node-process.js';

// What a user gets from `npm pack`: the tarball installed in an empty folder, offline (npm ci
// --offline from the npm cache, with a lockfile holding our own dependency pins), then used the way
// the README and docs/wasm-abi.md say.
const tmp = mkdtempSync(join(tmpdir(), 'dyn-pack-'));
const app = join(tmp, 'app');
let files: string[] = [];

function sh(cmd: string, args: string[], cwd: string, timeout = 120_000): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  ensureBuilt();
  // --ignore-scripts: the suite runs after `npm run build`; prepack would build again.
  const packed = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT)) as
    Array<{ filename: string; version: string; integrity: string; files: Array<{ path: string }> }>;
  const pk = packed[0]!;
  files = pk.files.map((f) => f.path);
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const me = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; bin: Record<string, string> };
  const spec = `file:../${pk.filename}`;
  const packages: Record<string, unknown> = {
    '': { dependencies: { 'dynomite-ts': spec } },
    'node_modules/dynomite-ts': { version: pk.version, resolved: spec, integrity: pk.integrity, dependencies: me.dependencies, bin: me.bin },
  };
  for (const [k, v] of Object.entries(lock.packages)) if (k && !v.dev) packages[k] = v;
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { 'dynomite-ts': spec } }));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }));
  sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);
}, 240_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships the compiled library with its types, the CLI, the WASM core and its ABI page', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'bin/dynomite.js', 'build/release.wasm', 'docs/wasm-abi.md',
      'examples/browser/index.html', 'examples/python/dynomite_core.py', 'README.md', 'package.json']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.map') || f.includes('__pycache__'))).toEqual([]);
  });

  it('installs offline in an empty folder; the core loads from the package and reports its ABI_VERSION', () => {
    writeFileSync(join(app, 'core.mjs'), [
      "import { readFileSync } from 'node:fs';",
      "import { fileURLToPath } from 'node:url';",
      "import { createCore } from 'dynomite-ts';",
      "const wasm = fileURLToPath(import.meta.resolve('dynomite-ts/core.wasm'));",
      'const mod = new WebAssembly.Module(readFileSync(wasm));',
      'const { exports } = new WebAssembly.Instance(mod, {});',
      'const core = createCore();',
      "const key = Buffer.from('foo'); core.u8.set(key, core.stagingPtr);",
      'console.log(JSON.stringify({ abi: exports.ABI_VERSION.value, imports: WebAssembly.Module.imports(mod).length,',
      '  token: core.exports.hashToken(exports.HASH_MURMUR.value, core.stagingPtr, 3) >>> 0,',
      "  page: readFileSync(fileURLToPath(import.meta.resolve('dynomite-ts/wasm-abi.md')), 'utf8').includes('ABI_VERSION') }));",
    ].join('\n'));
    const out = JSON.parse(sh('node', ['core.mjs'], app)) as { abi: number; imports: number; token: number; page: boolean };
    expect(out).toEqual({ abi: ABI.ABI_VERSION, imports: 0, token: expect.any(Number), page: true });
    expect(out.token).not.toBe(0);
  });

  it('installs the dynomite command', () => {
    // Netflix prints the version to stderr.
    const r = spawnSync(join(app, 'node_modules/.bin/dynomite'), ['-V'], { cwd: app, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/This is dynomite-\d+\.\d+\.\d+/);
  });
});
