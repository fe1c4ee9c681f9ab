// The Redis command table as TypeScript sees it: read once from the WASM core at start-up
// (assembly/commands.ts is the only list of commands), then looked up by name or id in plain JS.
// The framers resolve ids on the hot path themselves; this view serves routing decisions that
// need more than the record's flags, the stats and admin code, the docs and the tests.
import { ABI } from './abi.js';
import type { Core } from './core.js';

/** One command as the module defines it. Key conventions: see assembly/commands.ts. */
export interface CommandInfo {
  /** 1..count, the value framers put in REC_CMD. */
  readonly id: number;
  /** Upper case, e.g. `GET`, `JSON.SET`, `DYNO_CONFIG:CONN_CONSISTENCY`. */
  readonly name: string;
  /** CF_* bits. */
  readonly flags: number;
  /** > 0: exactly that many arguments, name included; < 0: at least -arity. */
  readonly arity: number;
  /** Argument index of the first key; 0 when keyless. */
  readonly firstKey: number;
  /** Index of the last key; negative = counted from the end (-1 = last argument). */
  readonly lastKey: number;
  /** Distance between keys; 0 when keyless. */
  readonly step: number;
  /** SH_*: how its RESP2 reply reads in RESP3 (see REPLY_SHAPE_NAMES). */
  readonly shape: number;
  /** MG_*: how the replies of its parts merge when it is split per owner (see MERGE_NAMES). */
  readonly merge: number;
}

export interface CommandTable {
  readonly count: number;
  /** Case-insensitive. */
  byName(name: string): CommandInfo | undefined;
  byId(id: number): CommandInfo | undefined;
  /** Every command in id order. */
  all(): readonly CommandInfo[];
}

/** Reads every entry through the cmd* exports. Throws if the module's table is broken. */
export function loadCommandTable(core: Core): CommandTable {
  const ex = core.exports;
  const n = ex.cmdCount();
  if (n <= 0) {
    throw new Error(n < 0
      ? `WASM command table refused ${-n} definition(s) (duplicate name, bad length or table full)`
      : 'WASM command table is empty');
  }
  const scratch = core.stagingPtr;
  // Staging may hold a host's unconsumed tail: keep the bytes we borrow and put them back.
  const saved = Buffer.from(core.buf.subarray(scratch, scratch + 64));
  const list: CommandInfo[] = [];
  try {
    for (let id = 1; id <= n; id++) {
      const len = ex.cmdNameCopy(id, scratch);
      if (len <= 0) throw new Error(`WASM command table: id ${id} has no name`);
      list.push(Object.freeze({
        id,
        name: core.buf.toString('latin1', scratch, scratch + len),
        flags: ex.cmdFlags(id),
        arity: ex.cmdArity(id),
        firstKey: ex.cmdFirstKey(id),
        lastKey: ex.cmdLastKey(id),
        step: ex.cmdKeyStep(id),
        shape: ex.cmdReplyShape(id),
        merge: ex.cmdMerge(id),
      }));
    }
  } finally {
    saved.copy(core.buf, scratch);
  }
  const byUpper = new Map(list.map((c) => [c.name, c] as const));
  const frozen = Object.freeze(list);
  return {
    count: n,
    byName: (name) => byUpper.get(name.toUpperCase()),
    byId: (id) => (Number.isInteger(id) && id >= 1 && id <= n ? frozen[id - 1] : undefined),
    all: () => frozen,
  };
}

// ---- flag helpers (take CommandInfo.flags or a record's REC_FLAGS; message bits are ignored) ----

export const isRead = (flags: number): boolean => (flags & ABI.CF_READ) !== 0;
export const isWrite = (flags: number): boolean => (flags & ABI.CF_WRITE) !== 0;
export const isFragment = (flags: number): boolean => (flags & ABI.CF_FRAGMENT) !== 0;
export const isNoKey = (flags: number): boolean => (flags & ABI.CF_NOKEY) !== 0;
export const isBroadcast = (flags: number): boolean => (flags & ABI.CF_BROADCAST) !== 0;
export const isUnsupported = (flags: number): boolean => (flags & ABI.CF_UNSUPPORTED) !== 0;
export const isPseudo = (flags: number): boolean => (flags & ABI.CF_PSEUDO) !== 0;
export const hasSubcommand = (flags: number): boolean => (flags & ABI.CF_SUBCMD) !== 0;
export const isSearch = (flags: number): boolean => (flags & ABI.CF_SEARCH) !== 0;
export const isScript = (flags: number): boolean => (flags & ABI.CF_SCRIPT) !== 0;
export const isQuit = (flags: number): boolean => (flags & ABI.CF_QUIT) !== 0;
export const isKeyValue = (flags: number): boolean => (flags & ABI.CF_KV) !== 0;

/** CF_* names in bit order, for logs and docs. */
export const FLAG_NAMES: readonly (readonly [number, string])[] = [
  [ABI.CF_READ, 'read'], [ABI.CF_WRITE, 'write'], [ABI.CF_FRAGMENT, 'fragment'], [ABI.CF_NOKEY, 'nokey'],
  [ABI.CF_BROADCAST, 'broadcast'], [ABI.CF_UNSUPPORTED, 'unsupported'], [ABI.CF_PSEUDO, 'pseudo'],
  [ABI.CF_SUBCMD, 'subcmd'], [ABI.CF_SEARCH, 'search'], [ABI.CF_SCRIPT, 'script'], [ABI.CF_QUIT, 'quit'],
  [ABI.CF_KV, 'kv'],
];

export function flagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/** SH_* names, by value, for docs and logs. */
export const REPLY_SHAPE_NAMES: readonly string[] = [
  'plain', 'map', 'set', 'double', 'doubles', 'scores', 'zpop', 'pairs', 'verbatim', 'by subcommand', 'zmpop', 'geo',
];

/** MG_* names, by value, for docs and logs. */
export const MERGE_NAMES: readonly string[] = ['none', 'array', 'sum', 'all ok', 'mc values'];

/** One word for how the proxy treats the command. */
export type CommandClass = 'unsupported' | 'pseudo' | 'search' | 'admin' | 'write' | 'read';

export function commandClass(c: CommandInfo): CommandClass {
  if (isUnsupported(c.flags)) return 'unsupported';
  if (isPseudo(c.flags)) return 'pseudo';
  if (isSearch(c.flags)) return 'search';
  if (isNoKey(c.flags)) return 'admin';
  return isWrite(c.flags) ? 'write' : 'read';
}

export function arityAccepts(c: CommandInfo, argc: number): boolean {
  return c.arity >= 0 ? argc === c.arity : argc >= -c.arity;
}

/**
 * The argument indexes of the keys of a request with `argc` arguments, by the table's convention.
 * For CF_SCRIPT commands pass `numkeys` (the value of argument `lastKey`); without it they have none.
 */
export function keyIndexes(c: CommandInfo, argc: number, numkeys?: number): number[] {
  if (c.step <= 0) return [];
  let last = c.lastKey >= 0 ? c.lastKey : argc + c.lastKey;
  if (isScript(c.flags)) last = numkeys === undefined ? c.lastKey : c.lastKey + numkeys;
  last = Math.min(last, argc - 1);
  const out: number[] = [];
  for (let i = c.firstKey; i <= last; i += c.step) out.push(i);
  return out;
}

function describeKeys(c: CommandInfo): string {
  if (c.step === 0) return '-';
  if (isScript(c.flags)) return `${c.firstKey}..${c.lastKey}+numkeys`;
  const last = c.lastKey < 0 ? `argc${c.lastKey}` : String(c.lastKey);
  const range = c.firstKey === c.lastKey ? String(c.firstKey) : `${c.firstKey}..${last}`;
  return c.step === 1 ? range : `${range} step ${c.step}`;
}

/** docs/commands.md, generated from the table (test/commands.test.ts keeps the file current). */
export function renderCommandsDoc(table: CommandTable): string {
  const rows = table.all().map((c) => {
    const arity = c.arity >= 0 ? String(c.arity) : `>= ${-c.arity}`;
    return `| ${c.name} | ${commandClass(c)} | ${arity} | ${describeKeys(c)} | ${flagNames(c.flags).join(' ')} | ${REPLY_SHAPE_NAMES[c.shape] ?? c.shape} | ${c.merge === ABI.MG_NONE ? '-' : MERGE_NAMES[c.merge] ?? c.merge} |`;
  });
  const counts = new Map<CommandClass, number>();
  for (const c of table.all()) counts.set(commandClass(c), (counts.get(commandClass(c)) ?? 0) + 1);
  const summary = [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
  return [
    '# Redis commands',
    '',
    'Generated from the WASM command table (assembly/commands.ts) by test/commands.test.ts;',
    'regenerate with `UPDATE_COMMANDS_DOC=1 npx vitest run test/commands.test.ts`. Do not edit by hand.',
    '',
    `${table.count} commands: ${summary}.`,
    '',
    'Arity counts the name: `3` means exactly three arguments, `>= 2` at least two. Keys are argument',
    'indexes (`argc-1` = the last argument); multi-key commands that are not `fragment` route by their',
    'first key. Unsupported commands are answered `-ERR unknown or unsupported command \'X\'`; their',
    'arity and keys are Redis\'s, for reference.',
    '',
    'RESP3 is the reply shape a `HELLO 3` client gets, converted from the RESP2 reply of the datastore',
    'or the peers: `plain` = as in RESP2 with nils as `_`; `map` / `set` = the flat array as a map / set;',
    '`double` / `doubles` = the bulk (every bulk) as a double; `scores` = with WITHSCORES, pairs of',
    'member and double; `zpop` = member and double, pairs with a count; `pairs` = with WITHVALUES, pairs;',
    '`verbatim` = a verbatim string; `zmpop` = scores as doubles; `geo` = WITHCOORD coordinates as',
    'doubles; `by subcommand`: XINFO STREAM and MEMORY STATS are maps, XINFO GROUPS / CONSUMERS arrays',
    'of maps, MEMORY / LATENCY DOCTOR verbatim.',
    '',
    'Merge is how a `fragment` command whose keys have several owners is answered: it is split into',
    'one request per owner group and the replies merged: `array` = one array, each element at its',
    'key\'s position; `sum` = the sum of the integer replies; `all ok` = `+OK` when every part said',
    '`+OK`, else the first other reply. The first error reply wins over every merge. (memcached: get',
    'and gets merge as `mc values`, the VALUE items in key order, then END.)',
    '',
    '| command | class | arity | keys | flags | RESP3 | merge |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
