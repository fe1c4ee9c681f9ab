// The `dynomite` command line, Netflix-compatible: the flag table below drives getopt-style parsing
// (short flags combine, `-v6` / `-v 6`, `--verbosity=6` / `--verbosity 6`, unique long prefixes),
// the error messages (Netflix wording from src/dynomite.c), and the CLI section of docs/config.md.
import type { Level } from 'pino';

/** Netflix's source default (DN_CONF_PATH), relative to the working directory. */
export const DEFAULT_CONF_FILE = 'conf/dynomite.yml';
export const DEFAULT_VERBOSITY = 5;
export const MAX_VERBOSITY = 11;

type ArgKind = 'none' | 'number' | 'file' | 'string';

interface FlagDef {
  readonly short: string;
  readonly long: string;
  readonly arg: ArgKind;
  readonly doc: string;
  /** Extra long spellings accepted (older Netflix builds). */
  readonly aliases?: readonly string[];
}

export const FLAGS = {
  help: { short: 'h', long: 'help', arg: 'none', doc: 'Print the version banner and this help, exit 0. `-?` does the same.' },
  version: { short: 'V', long: 'version', arg: 'none', doc: 'Print `This is dynomite-<version>`, exit 0.' },
  testConf: { short: 't', long: 'test-conf', arg: 'none', doc: 'Check the configuration file and exit: 0 if valid, 1 (with every problem listed) if not.' },
  daemonize: { short: 'd', long: 'daemonize', arg: 'none', doc: 'Run in the background: re-spawn detached (Node cannot fork), stdio to the `-o` file or /dev/null; the parent exits 0.' },
  describeStats: { short: 'D', long: 'describe-stats', arg: 'none', doc: 'Print every stat with its description, exit 0.' },
  verbosity: { short: 'v', long: 'verbosity', arg: 'number', aliases: ['verbose'], doc: 'Log level 0..11 (default 5); values above 11 act as 11. See the level table.' },
  output: { short: 'o', long: 'output', arg: 'file', doc: 'Log file (default: stderr). Reopened on SIGHUP, for log rotation.' },
  confFile: { short: 'c', long: 'conf-file', arg: 'file', doc: `Configuration file (default: ${DEFAULT_CONF_FILE}, relative to the working directory).` },
  pidFile: { short: 'p', long: 'pid-file', arg: 'file', doc: 'Write the process id to this file; removed on exit (default: off).' },
  mbufSize: { short: 'm', long: 'mbuf-size', arg: 'number', doc: 'Deprecated: `mbuf_size` when the file does not set it (512..512000, a multiple of 16).' },
  maxMsgs: { short: 'M', long: 'max-msgs', arg: 'number', doc: 'Deprecated: `max_msgs` when the file does not set it (100000..1000000).' },
  adminOperation: { short: 'x', long: 'admin-operation', arg: 'number', doc: 'Accepted for compatibility (a positive number); no effect.' },
  adminParam: { short: 'y', long: 'admin-param', arg: 'string', doc: 'Accepted for compatibility; no effect.' },
} as const satisfies Record<string, FlagDef>;

type FlagName = keyof typeof FLAGS;
const FLAG_NAMES = Object.keys(FLAGS) as FlagName[];

export interface CliOptions {
  readonly help: boolean;
  readonly version: boolean;
  readonly testConf: boolean;
  readonly daemonize: boolean;
  readonly describeStats: boolean;
  /** 0..11 */
  readonly verbosity: number;
  /** Log file, or null for stderr. */
  readonly output: string | null;
  readonly confFile: string;
  readonly pidFile: string | null;
  readonly mbufSize: number | null;
  readonly maxMsgs: number | null;
  readonly adminOperation: number;
  readonly adminParam: string | null;
}

export type ParseResult = { readonly ok: true; readonly options: CliOptions } | { readonly ok: false; readonly error: string };

/** The Netflix usage text (`dynomite -h`), verbatim but for the default conf path line. */
export const USAGE = [
  'Usage: dynomite [-?hVdDt] [-v verbosity level] [-o output file]',
  '                  [-c conf file] [-p pid file] [-m mbuf size (deprecated)]',
  '                  [-M max alloc messages (deprecated)]',
  '',
  'Options:',
  '  -h, --help             : this help',
  '  -V, --version          : show version and exit',
  '  -t, --test-conf        : test configuration for syntax errors and exit',
  '  -d, --daemonize        : run as a daemon',
  '  -D, --describe-stats   : print stats description and exit',
  `  -v, --verbosity=N            : set logging level (default: ${DEFAULT_VERBOSITY}, min: 0, max: ${MAX_VERBOSITY})`,
  '  -o, --output=S               : set logging file (default: stderr)',
  `  -c, --conf-file=S            : set configuration file (default: ${DEFAULT_CONF_FILE})`,
  '  -p, --pid-file=S             : set pid file (default: off)',
  '  -m, --mbuf-size=N            : set size of mbuf chunk in bytes (default: 0 bytes)',
  '',
  '',
].join('\n');

/** Netflix prints `"This is dynomite-%s" CRLF` then a newline: the banner plus a blank line. */
export function versionBanner(version: string): string {
  return `This is dynomite-${version}\n\n`;
}

/** Netflix log levels (LOG_EMERG 0 .. LOG_PVERB 11) to pino levels. */
export const VERBOSITY_LEVELS: readonly (readonly [string, Level])[] = [
  ['EMERG', 'fatal'],
  ['ALERT', 'fatal'],
  ['CRIT', 'fatal'],
  ['ERR', 'error'],
  ['WARN', 'warn'],
  ['NOTICE', 'info'],
  ['INFO', 'info'],
  ['DEBUG', 'debug'],
  ['VERB', 'trace'],
  ['VVERB', 'trace'],
  ['VVVERB', 'trace'],
  ['PVERB', 'trace'],
];

export function pinoLevel(verbosity: number): Level {
  const clamped = Math.max(0, Math.min(MAX_VERBOSITY, Math.trunc(verbosity)));
  return (VERBOSITY_LEVELS[clamped] as readonly [string, Level])[1];
}

const DEFAULTS: CliOptions = {
  help: false,
  version: false,
  testConf: false,
  daemonize: false,
  describeStats: false,
  verbosity: DEFAULT_VERBOSITY,
  output: null,
  confFile: DEFAULT_CONF_FILE,
  pidFile: null,
  mbufSize: null,
  maxMsgs: null,
  adminOperation: 0,
  adminParam: null,
};

class ArgError extends Error {}

/** Parses argv (without node and script). Never throws; errors carry the Netflix message. */
export function parseArgs(argv: readonly string[]): ParseResult {
  const opts: Mutable = { ...DEFAULTS };
  try {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] as string;
      if (arg === '--') {
        if (i + 1 < argv.length) throw new ArgError(`dynomite: unexpected argument '${argv[i + 1]}'`);
        break;
      }
      if (arg.startsWith('--')) i = longFlag(argv, i, opts);
      else if (arg.startsWith('-') && arg.length > 1) i = shortFlags(argv, i, opts);
      else throw new ArgError(`dynomite: unexpected argument '${arg}'`);
    }
  } catch (err) {
    if (err instanceof ArgError) return { ok: false, error: err.message };
    throw err;
  }
  return { ok: true, options: opts };
}

type Mutable = { -readonly [K in keyof CliOptions]: CliOptions[K] };

/** `-tdv6`, `-v 6`, `-c f.yml`: getopt rules (a flag taking a value eats the rest of the word). */
function shortFlags(argv: readonly string[], i: number, opts: Mutable): number {
  const word = argv[i] as string;
  for (let k = 1; k < word.length; k++) {
    const ch = word[k] as string;
    if (ch === '?') {
      opts.help = true;
      continue;
    }
    const name = FLAG_NAMES.find((n) => FLAGS[n].short === ch);
    if (name === undefined) {
      const hint = ch === 'g' ? ' (gossip is turned on with enable_gossip: true in the configuration file)' : '';
      throw new ArgError(`dynomite: invalid option -- '${ch}'${hint}`);
    }
    const def: FlagDef = FLAGS[name];
    if (def.arg === 'none') {
      apply(name, null, opts);
      continue;
    }
    if (k + 1 < word.length) {
      apply(name, word.slice(k + 1), opts);
      return i;
    }
    if (i + 1 >= argv.length) throw new ArgError(missingValue(def));
    apply(name, argv[i + 1] as string, opts);
    return i + 1;
  }
  return i;
}

/** `--verbosity=6`, `--verbosity 6`, `--verb 6` (a unique prefix, as getopt_long allows). */
function longFlag(argv: readonly string[], i: number, opts: Mutable): number {
  const word = argv[i] as string;
  const eq = word.indexOf('=');
  const given = word.slice(2, eq < 0 ? undefined : eq);
  const name = findLong(given, word);
  const def: FlagDef = FLAGS[name];
  if (def.arg === 'none') {
    if (eq >= 0) throw new ArgError(`dynomite: option '--${def.long}' doesn't allow an argument`);
    apply(name, null, opts);
    return i;
  }
  if (eq >= 0) {
    apply(name, word.slice(eq + 1), opts);
    return i;
  }
  if (i + 1 >= argv.length) throw new ArgError(missingValue(def));
  apply(name, argv[i + 1] as string, opts);
  return i + 1;
}

function findLong(given: string, word: string): FlagName {
  const spellings = (n: FlagName): readonly string[] => {
    const def: FlagDef = FLAGS[n];
    return [def.long, ...(def.aliases ?? [])];
  };
  const exact = FLAG_NAMES.find((n) => spellings(n).includes(given));
  if (exact !== undefined) return exact;
  const hits = given === '' ? [] : FLAG_NAMES.filter((n) => spellings(n).some((s) => s.startsWith(given)));
  if (hits.length === 1) return hits[0] as FlagName;
  if (hits.length > 1) {
    const list = hits.map((n) => `'--${FLAGS[n].long}'`).join(' ');
    throw new ArgError(`dynomite: option '--${given}' is ambiguous; possibilities: ${list}`);
  }
  throw new ArgError(`dynomite: unrecognized option '${word}'`);
}

function missingValue(def: FlagDef): string {
  const what = def.arg === 'file' ? 'a file name' : def.arg === 'number' ? 'a number' : 'a string';
  return `dynomite: option -${def.short} requires ${what}`;
}

/** Netflix dn_atoi: decimal digits only, else -1. */
function atoi(value: string): number {
  return /^[0-9]{1,9}$/.test(value) ? Number(value) : -1;
}

function apply(name: FlagName, value: string | null, opts: Mutable): void {
  const v = value ?? '';
  switch (name) {
    case 'help':
    case 'version':
    case 'testConf':
    case 'daemonize':
    case 'describeStats':
      opts[name] = true;
      return;
    case 'verbosity': {
      const n = atoi(v);
      if (n < 0) throw new ArgError('dynomite: option -v requires a number');
      opts.verbosity = Math.min(n, MAX_VERBOSITY);
      return;
    }
    case 'output':
    case 'confFile':
    case 'pidFile':
      if (v === '') throw new ArgError(missingValue(FLAGS[name]));
      opts[name] = v;
      return;
    case 'mbufSize': {
      const n = atoi(v);
      if (n <= 0) throw new ArgError('dynomite: option -m requires a non-zero number');
      if (n < 512 || n > 512000) throw new ArgError('dynomite: mbuf chunk size must be between 512 and 512000 bytes');
      if (n % 16 !== 0) throw new ArgError('dynomite: mbuf chunk size must be a multiple of 16');
      opts.mbufSize = n;
      return;
    }
    case 'maxMsgs': {
      const n = atoi(v);
      if (n <= 0) throw new ArgError('dynomite: option -M requires a non-zero number');
      if (n < 100000 || n > 1000000) {
        throw new ArgError('dynomite: max allocated messages buffer must be between 100000 and 1000000 messages');
      }
      opts.maxMsgs = n;
      return;
    }
    case 'adminOperation': {
      const n = atoi(v);
      if (n <= 0) throw new ArgError('dynomite: option -x requires a non-zero number');
      opts.adminOperation = n;
      return;
    }
    case 'adminParam':
      opts.adminParam = v;
      return;
  }
}

/** Rows for the docs: [spelling, description]. */
export function flagRows(): [string, string][] {
  return FLAG_NAMES.map((n) => {
    const def: FlagDef = FLAGS[n];
    const value = def.arg === 'none' ? '' : def.arg === 'number' ? ' N' : def.arg === 'file' ? ' FILE' : ' S';
    const long = def.arg === 'none' ? `--${def.long}` : `--${def.long}=${value.trim()}`;
    return [`\`-${def.short}${value}\`, \`${long}\``, def.doc];
  });
}
