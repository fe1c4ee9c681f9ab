// `dynomite hash`: prints the token of keys with any of the 14 token hashes, so an operator can see
// where a key lands (and check it against a Netflix node: the same hash gives the same token).
//
//   dynomite hash [-a <algo>] [-x] [-d] [key ...]
//
// Keys come from the arguments, or, when there are none, from stdin: one key per "\n"-terminated
// line, taken byte for byte (a "\r" stays part of the key, an empty line is the empty key, and a
// final "\n" does not start another key). The hashing is the WASM core's, the code the proxy routes
// with, so this command cannot disagree with the router.
import { HASH_NAMES } from '../wasm/abi.js';
import { createCore, type Core } from '../wasm/core.js';

export interface HashCommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const HASH_USAGE = `Usage: dynomite hash [-a <algo>] [-x] [-d] [key ...]

Prints the token of each key, one per line, as lowercase hex (8 digits for 32-bit hashes,
32 for murmur3, 16 for murmur3_x64_64).

Keys are the arguments; with none, stdin is read, one key per line (split on "\\n" only: a "\\r"
is part of the key, an empty line is the empty key). Put -- before keys that start with "-".

Options:
  -a, --algo <algo>  hash to use (default: murmur); one of:
                     ${HASH_NAMES.join(' ')}
  -x, --hex          every key is given in hex (for binary keys, NUL or newline bytes)
  -d, --decimal      print the 32-bit ring token in decimal, as config tokens are written
                     (for murmur3 and murmur3_x64_64: the first word of the hex token)
  -h, --help         print this help
`;

/** Exit codes: 0 done, 2 bad usage or input (nothing is printed to stdout then). */
export const EXIT_OK = 0;
export const EXIT_USAGE = 2;

interface HashOptions {
  algo: number;
  hex: boolean;
  decimal: boolean;
  help: boolean;
  keys: string[];
}

class UsageError extends Error {}

function algoByName(name: string): number {
  const id = (HASH_NAMES as readonly string[]).indexOf(name.toLowerCase());
  if (id < 0) {
    throw new UsageError(`unknown hash algorithm '${name}'; valid algorithms: ${HASH_NAMES.join(', ')}`);
  }
  return id;
}

/** Parses the arguments after `hash`. Short flags combine (-xd, -xa md5, -amd5). */
export function parseHashArgs(argv: readonly string[]): HashOptions {
  const o: HashOptions = { algo: algoByName('murmur'), hex: false, decimal: false, help: false, keys: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const algoValue = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`option '${arg}' needs an algorithm name`);
      return v;
    };
    if (arg === '--') {
      o.keys.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      o.keys.push(arg);
    } else if (arg.startsWith('--')) {
      const [name, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
      if (name === '--algo') o.algo = algoByName(value ?? algoValue());
      else if (name === '--hex' && value === undefined) o.hex = true;
      else if (name === '--decimal' && value === undefined) o.decimal = true;
      else if (name === '--help' && value === undefined) o.help = true;
      else throw new UsageError(`unknown option '${arg}'`);
    } else {
      for (let j = 1; j < arg.length; j++) {
        const flag = arg[j]!;
        if (flag === 'x') o.hex = true;
        else if (flag === 'd') o.decimal = true;
        else if (flag === 'h') o.help = true;
        else if (flag === 'a') {
          o.algo = algoByName(j + 1 < arg.length ? arg.slice(j + 1) : algoValue());
          break;
        } else {
          throw new UsageError(`unknown option '-${flag}'${arg.length > 2 ? ` in '${arg}'` : ''}`);
        }
      }
    }
  }
  return o;
}

/** Splits stdin into keys: on "\n" only; a trailing "\n" ends the last key rather than adding one. */
export function splitKeyLines(input: Buffer): Buffer[] {
  const keys: Buffer[] = [];
  let start = 0;
  while (start < input.length) {
    const nl = input.indexOf(0x0a, start);
    if (nl < 0) {
      keys.push(input.subarray(start));
      break;
    }
    keys.push(input.subarray(start, nl));
    start = nl + 1;
  }
  return keys;
}

const HEX_KEY = /^(?:[0-9a-fA-F]{2})*$/;

function decodeHex(text: string, where: string): Buffer {
  if (!HEX_KEY.test(text)) {
    throw new UsageError(`bad hex key in ${where}: ${JSON.stringify(text)} (need an even number of hex digits)`);
  }
  return Buffer.from(text, 'hex');
}

let core: Core | undefined;

/** A core whose staging area holds keyBytes plus the output words (grown by replacing it). */
function coreFor(keyBytes: number): Core {
  const need = Math.max(64, (keyBytes + 16 + 15) & ~15);
  if (!core || core.options.stagingBytes < need) {
    core = createCore({ records: 1, keys: 1, connections: 1, mbufCount: 0, stagingBytes: need });
  }
  return core;
}

/** Formats the token of each key: hex words as the reference vectors print them, or the ring token in decimal. */
export function formatTokens(algo: number, keys: readonly Uint8Array[], decimal: boolean): string[] {
  const c = coreFor(keys.reduce((m, k) => Math.max(m, k.length), 0));
  const outPtr = c.stagingPtr;
  const keyPtr = c.stagingPtr + 16;
  const view = new DataView(c.u8.buffer);
  return keys.map((key) => {
    c.u8.set(key, keyPtr);
    if (decimal) return String(c.exports.hashToken(algo, keyPtr, key.length) >>> 0);
    const words = c.exports.hashFull(algo, keyPtr, key.length, outPtr);
    let hex = '';
    for (let i = 0; i < words; i++) hex += view.getUint32(outPtr + 4 * i, true).toString(16).padStart(8, '0');
    return hex;
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (text.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.write(text, (err?: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** Keys from the arguments, or from stdin when there are none; hex-decoded with -x. */
async function collectKeys(o: HashOptions, stdin: NodeJS.ReadableStream): Promise<Buffer[]> {
  if (o.keys.length > 0) {
    return o.keys.map((k, i) => (o.hex ? decodeHex(k, `argument ${i + 1}`) : Buffer.from(k, 'utf8')));
  }
  const lines = splitKeyLines(await readAll(stdin));
  return o.hex ? lines.map((l, i) => decodeHex(l.toString('latin1'), `stdin line ${i + 1}`)) : lines;
}

/**
 * Runs `dynomite hash` with the arguments after `hash`. Returns the exit code: 0, or 2 with a message
 * on stderr naming what failed (unknown algorithm, bad hex key, unknown option).
 */
export async function runHashCommand(argv: string[], io: HashCommandIo): Promise<number> {
  let keys: Buffer[];
  let o: HashOptions;
  try {
    o = parseHashArgs(argv);
    if (o.help) {
      await write(io.stdout, HASH_USAGE);
      return EXIT_OK;
    }
    keys = await collectKeys(o, io.stdin);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    await write(io.stderr, `dynomite hash: ${err.message}\nTry 'dynomite hash -h' for help.\n`);
    return EXIT_USAGE;
  }
  const lines = formatTokens(o.algo, keys, o.decimal);
  await write(io.stdout, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  return EXIT_OK;
}
