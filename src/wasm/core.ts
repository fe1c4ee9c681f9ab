// Loads the WASM core once per process and sizes its memory. Every connection's Framer shares this
// one instance: per-connection state is a slot index into the module's connection slab.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkAbi, type CoreExports } from './abi.js';

export interface CoreOptions {
  /** Frame records per call. @default 4096 */
  records?: number;
  /** Key entries per call (all keys of the messages framed by one call). @default 262144 */
  keys?: number;
  /** Connection slots (client, server and peer connections together). @default 65536 */
  connections?: number;
  /** Staging area: the largest message the proxy can frame. @default 64 MiB */
  stagingBytes?: number;
  /** mbuf slot size in bytes, Netflix `mbuf_size` (512..512000, multiple of 16). @default 16384 */
  mbufSize?: number;
  /** Number of mbufs in the pool. @default 1024 */
  mbufCount?: number;
  /** Largest bulk length the framers accept. @default 512 MiB */
  maxBulk?: number;
}

export const DEFAULT_CORE_OPTIONS: Required<CoreOptions> = {
  records: 4096,
  keys: 262144,
  connections: 65536,
  stagingBytes: 64 * 1024 * 1024,
  mbufSize: 16384,
  mbufCount: 1024,
  maxBulk: 512 * 1024 * 1024,
};

export interface Core {
  readonly exports: CoreExports;
  readonly memory: WebAssembly.Memory;
  readonly options: Required<CoreOptions>;
  /** Views over the whole memory; valid for the life of the core (memory never grows after init). */
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly buf: Buffer;
  /** Byte addresses of the regions. */
  readonly resPtr: number;
  readonly recPtr: number;
  readonly keyPtr: number;
  readonly stagingPtr: number;
}

/** The build a host loads: $DYNOMITE_WASM, else build/release.wasm next to src/ or dist/. */
export function wasmPath(): string {
  const env = process.env.DYNOMITE_WASM;
  if (env) return env;
  return fileURLToPath(new URL('../../build/release.wasm', import.meta.url));
}

let compiled: WebAssembly.Module | undefined;

function compile(): WebAssembly.Module {
  if (compiled) return compiled;
  const path = wasmPath();
  if (!existsSync(path)) {
    throw new Error(`WASM core not found at ${path}: run \`npm run build:wasm\` first`);
  }
  const src = fileURLToPath(new URL('../../assembly', import.meta.url));
  if (!process.env.DYNOMITE_WASM && existsSync(src) && !isFresh(path, src)) {
    throw new Error(`WASM core at ${path} is older than assembly/: run \`npm run build:wasm\``);
  }
  compiled = new WebAssembly.Module(readFileSync(path));
  return compiled;
}

/** True when the build is newer than every source file of assembly/ (a stale build is an error). */
function isFresh(wasm: string, srcDir: string): boolean {
  const built = statSync(wasm).mtimeMs;
  for (const f of readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
    if (f.endsWith('.ts') && statSync(`${srcDir}/${f}`).mtimeMs > built + 1) return false;
  }
  return true;
}

/** Instantiates a core with its own memory. Most programs need one: see sharedCore(). */
export function createCore(opts: CoreOptions = {}): Core {
  const options = { ...DEFAULT_CORE_OPTIONS, ...opts };
  const instance = new WebAssembly.Instance(compile(), {});
  const ex = instance.exports as unknown as CoreExports;
  checkAbi(ex);
  const st = ex.init(options.records, options.keys, options.connections, options.stagingBytes,
    options.mbufSize, options.mbufCount);
  if (st !== 0) {
    throw new Error(`WASM core init refused its sizes (status ${st}): ${JSON.stringify(options)}`);
  }
  ex.configureMaxBulk(BigInt(options.maxBulk));
  const memory = ex.memory;
  const buffer = memory.buffer;
  return {
    exports: ex,
    memory,
    options,
    u8: new Uint8Array(buffer),
    i32: new Int32Array(buffer),
    buf: Buffer.from(buffer),
    resPtr: ex.res_ptr(),
    recPtr: ex.rec_ptr(),
    keyPtr: ex.key_ptr(),
    stagingPtr: ex.staging_ptr(),
  };
}

let shared: { core: Core; createdAt: string } | undefined;

/**
 * The process-wide core, created on first use with the given (or default) sizes. A later call
 * that asks for a size the core was not created with throws, naming the sizes that differ and
 * where the core was created: the core cannot be resized, so such a caller would otherwise run
 * with sizes it did not ask for. Sizes a call leaves out are not compared.
 */
export function sharedCore(opts: CoreOptions = {}): Core {
  if (!shared) {
    shared = { core: createCore(opts), createdAt: callerOf(new Error().stack) };
    return shared.core;
  }
  const have = shared.core.options;
  const differ = (Object.keys(opts) as (keyof CoreOptions)[])
    .filter((k) => opts[k] !== undefined && opts[k] !== have[k])
    .map((k) => `${k} ${opts[k]} (the shared core has ${have[k]})`);
  if (differ.length > 0) {
    throw new Error(`sharedCore: asked for ${differ.join(', ')}; the shared core of this process was created at ${shared.createdAt} and cannot be resized`);
  }
  return shared.core;
}

/** The first stack frame outside this file: where sharedCore() was called from. */
function callerOf(stack: string | undefined): string {
  const self = fileURLToPath(import.meta.url);
  const frames = (stack ?? '').split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
  return frames.find((f) => !f.includes(self) && !f.includes(import.meta.url)) ?? 'an unknown place';
}
