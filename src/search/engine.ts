// The search engine of one node: its indexes, the FT.* commands over them, and the document
// changes that keep them current. Transport-free: args in, Reply out; where documents come from
// (the embedded store, a local redis) is a DocSource.
//
//   FT.* args ─► SearchEngine.execute ─► schema.ts / search-cmd.ts / aggregate.ts ─► Reply
//   datastore change ─► DocSource ─► SearchEngine.changed(key, hash | null) ─► SearchIndex.update
import { SearchIndex } from './doc-index.js';
import { type IndexDef, parseAlter, parseCreate } from './schema.js';
import { SearchError, err, ERR_INDEX_EXISTS, ERR_UNKNOWN_INDEX } from './errors.js';
import { OK, ReplyErr, type Reply, Double } from './reply.js';
import { parseSearch, runSearch, renderSearch, renderShard, type SearchRequest } from './search-cmd.js';
import { parseQuery } from './query-parser.js';
import { explain } from './explain.js';
import { runAggregate, parseAggregate, renderAggregate, Cursors, matchRows, applySteps, encodeShardRows, type AggregateRequest, type OutRow } from './aggregate.js';
import { Dictionaries } from './dicts.js';

export interface DocSource {
  /** Visits every hash of the datastore in the background (backfill), in batches. */
  scan(visit: (key: string, fields: Map<string, Buffer>) => void, progress: (fraction: number) => void): Promise<void>;
  /** Deletes keys from the datastore (FT.DROPINDEX DD). */
  deleteKeys(keys: string[]): Promise<void>;
  /** Resolves once every write the datastore acknowledged before the call is in the indexes. */
  sync(): Promise<void>;
  /** Whether any index exists now: a source may stop watching the datastore while none does. */
  activate(on: boolean): void;
}

/** A backfill's progress: at its start, at most every tenth of the scan, and at its end. */
export interface BackfillEvent {
  readonly index: string;
  readonly phase: 'start' | 'progress' | 'done' | 'failed';
  /** 0..1 of the datastore scanned (FT.INFO percent_indexed). */
  readonly fraction: number;
  /** Documents of the scan the index took so far. */
  readonly indexed: number;
  readonly elapsedMs: number;
  /** Set when phase is 'failed': why the scan stopped (the index keeps what it indexed). */
  readonly error?: string;
}

export interface EngineHooks {
  /** Index definitions changed (create, alter, drop): persist them. */
  onDefinitions?(defs: IndexDef[]): void;
  /** Backfill progress, for the log (NodeSearch logs every event). */
  onBackfill?(event: BackfillEvent): void;
}

const str = (b: Buffer): string => b.toString('latin1');

/** FT.CONFIG GET of this name answers the index definitions as JSON (peer catch-up). */
export const DEFINITIONS_OPTION = '__DYNOMITE_INDEX_DEFINITIONS';

/** FT.PROFILE's answer: the command's reply and the profile (only the total time is measured). */
export function profileReply(result: Reply, ms: number): Reply {
  return [result, [['Total profile time', new Double(ms)], ['Parsing time', new Double(0)], ['Pipeline creation time', new Double(0)], ['Iterators profile', []], ['Result processors profile', []]]];
}

/**
 * FT.PROFILE idx SEARCH|AGGREGATE [LIMITED] QUERY ... as the command it profiles
 * ([FT.SEARCH|FT.AGGREGATE, idx, ...]); throws the reply's error for a malformed one.
 */
export function profiledCommand(raw: readonly Buffer[]): Buffer[] {
  const a = raw.map((b) => b.toString('latin1'));
  if (a.length < 5) throw err("ERR wrong number of arguments for 'ft.profile' command");
  const kind = a[2]!.toUpperCase();
  let qi = 3;
  if ((a[qi] ?? '').toUpperCase() === 'LIMITED') qi++;
  if ((a[qi] ?? '').toUpperCase() !== 'QUERY') throw err('The QUERY keyword is expected');
  if (kind !== 'SEARCH' && kind !== 'AGGREGATE') throw err('No `SEARCH` or `AGGREGATE` provided');
  return [Buffer.from(`FT.${kind}`), raw[1]!, ...raw.slice(qi + 1)];
}

export class SearchEngine {
  readonly indexes = new Map<string, SearchIndex>();
  readonly dicts = new Dictionaries();
  readonly cursors = new Cursors();
  defaultDialect = 1;
  private source: DocSource | undefined;

  constructor(private readonly hooks: EngineHooks = {}) {}

  attach(source: DocSource): void {
    this.source = source;
    source.activate(this.active);
  }

  private definitionsChanged(): void {
    this.source?.activate(this.active);
    this.hooks.onDefinitions?.(this.definitions());
  }

  /** Whether any index exists (datastore hooks skip all work otherwise). */
  get active(): boolean {
    return this.indexes.size > 0;
  }

  /** The hash at key changed (null: deleted, expired, renamed away, or no longer a hash). */
  changed(key: string, fields: Map<string, Buffer> | null): void {
    for (const ix of this.indexes.values()) ix.update(key, fields);
  }

  /** Whether some index would index this key (the hooks skip re-reading keys no index wants). */
  wants(key: string): boolean {
    for (const ix of this.indexes.values()) if (ix.matchesKey(key)) return true;
    return false;
  }

  definitions(): IndexDef[] {
    return [...this.indexes.values()].map((ix) => ix.def);
  }

  /** Restores indexes from persisted definitions (start-up, or a peer's list). Backfills each new one. */
  load(defs: IndexDef[]): void {
    const fresh: SearchIndex[] = [];
    for (const d of defs) {
      if (this.indexes.has(d.name)) continue;
      const ix = new SearchIndex(d);
      this.indexes.set(d.name, ix);
      fresh.push(ix);
    }
    // The source starts watching first: a backfill before it did found no connection to scan.
    this.source?.activate(this.active);
    for (const ix of fresh) this.backfill(ix);
  }

  index(name: string): SearchIndex {
    const ix = this.indexes.get(name);
    if (!ix) throw err(ERR_UNKNOWN_INDEX);
    return ix;
  }

  /** Executes one FT.* command. Errors come back as ReplyErr values (the slot gets `-<text>`). */
  async execute(raw: Buffer[]): Promise<Reply> {
    try {
      return await this.run(raw);
    } catch (e) {
      if (e instanceof SearchError) return new ReplyErr(e.message);
      return new ReplyErr(`ERR Search: ${(e as Error).message}`);
    }
  }

  /**
   * Scans the datastore into a new index in the background. FT.INFO shows `indexing` and
   * `percent_indexed` meanwhile; onBackfill hears the start, each further tenth and the end. A scan
   * that fails leaves `percent_indexed` where it stopped (the index has what it read) and says why.
   */
  private backfill(ix: SearchIndex): void {
    if (!this.source || ix.def.skipInitialScan) return;
    ix.scanning = true;
    ix.scanProgress = 0;
    const started = Date.now();
    let indexed = 0;
    let reportedTenths = 0;
    const report = (phase: BackfillEvent['phase'], error?: string): void => {
      this.hooks.onBackfill?.({
        index: ix.def.name, phase, fraction: ix.scanProgress, indexed, elapsedMs: Date.now() - started,
        ...(error === undefined ? {} : { error }),
      });
    };
    report('start');
    void this.source
      .scan(
        (key, fields) => {
          if (this.indexes.get(ix.def.name) === ix && !ix.byKey.has(key)) {
            ix.update(key, fields);
            indexed++;
          }
        },
        (f) => {
          ix.scanProgress = f;
          const tenths = Math.floor(f * 10 + 1e-9);
          if (f < 1 && tenths > reportedTenths) {
            reportedTenths = tenths;
            report('progress');
          }
        },
      )
      .then(
        () => {
          ix.scanning = false;
          ix.scanProgress = 1;
          report('done');
        },
        (e: unknown) => {
          ix.scanning = false;
          report('failed', e instanceof Error ? e.message : String(e));
        },
      );
  }

  private async sync(): Promise<void> {
    if (this.source) await this.source.sync();
  }

  private async run(raw: Buffer[]): Promise<Reply> {
    const args = raw.map(str);
    const cmd = args[0]!.toUpperCase();
    const a = args.slice(1);
    const arity = (n: number): void => {
      if (a.length < n) throw err(`ERR wrong number of arguments for '${args[0]!.toLowerCase()}' command`);
    };
    switch (cmd) {
      case 'FT._LIST':
        return [...this.indexes.keys()];
      case 'FT.CREATE': {
        arity(1);
        if (this.indexes.has(a[0]!)) throw err(ERR_INDEX_EXISTS);
        const def = parseCreate(a);
        const ix = new SearchIndex(def);
        this.indexes.set(def.name, ix);
        this.definitionsChanged();
        this.backfill(ix);
        return OK;
      }
      case 'FT.ALTER': {
        arity(1);
        const ix = this.index(a[0]!);
        const fields = parseAlter(a, ix.def);
        ix.def.fields.push(...fields);
        ix.refreshFields();
        this.definitionsChanged();
        // Documents indexed before the new field existed are re-read (RediSearch rescans too).
        if (!/^SKIPINITIALSCAN$/i.test(a[1] ?? '')) {
          const keys = [...ix.byKey.values()].map((d) => [d.key, d.fields] as const);
          for (const [k, f] of keys) ix.update(k, f);
        }
        return OK;
      }
      case 'FT.DROPINDEX':
      case 'FT.DROP': {
        arity(1);
        const ix = this.index(a[0]!);
        const dd = (a[1] ?? '').toUpperCase() === 'DD' || (cmd === 'FT.DROP' && (a[1] ?? '').toUpperCase() !== 'KEEPDOCS');
        this.indexes.delete(a[0]!);
        this.definitionsChanged();
        if (dd && this.source) await this.source.deleteKeys([...ix.byKey.keys()]);
        return OK;
      }
      case 'FT.INFO': {
        arity(1);
        return this.info(this.index(a[0]!));
      }
      case 'FT.SEARCH': {
        arity(2);
        const ix = this.index(a[0]!);
        const req = parseSearch(a, raw.slice(1), this.defaultDialect);
        await this.sync();
        return this.search(ix, req);
      }
      case 'FT.PROFILE': {
        arity(4);
        const ix = this.index(a[0]!);
        const kind = (a[1] ?? '').toUpperCase();
        let qi = 2;
        if ((a[qi] ?? '').toUpperCase() === 'LIMITED') qi++;
        if ((a[qi] ?? '').toUpperCase() !== 'QUERY') throw err('The QUERY keyword is expected');
        const rest = [a[0]!, ...a.slice(qi + 1)];
        const restRaw = [raw[1]!, ...raw.slice(qi + 2)];
        await this.sync();
        const t0 = performance.now();
        let result: Reply;
        if (kind === 'SEARCH') result = this.search(ix, parseSearch(rest, restRaw, this.defaultDialect));
        else if (kind === 'AGGREGATE') result = this.aggregate(ix, rest, restRaw);
        else throw err('No `SEARCH` or `AGGREGATE` provided');
        return profileReply(result, performance.now() - t0);
      }
      case 'FT.AGGREGATE': {
        arity(2);
        const ix = this.index(a[0]!);
        await this.sync();
        return this.aggregate(ix, a, raw.slice(1));
      }
      case 'FT.CURSOR': {
        arity(3);
        const sub = a[0]!.toUpperCase();
        this.index(a[1]!);
        const id = Number(a[2]);
        if (sub === 'DEL') {
          if (!this.cursors.del(id)) throw err('Cursor does not exist');
          return OK;
        }
        if (sub === 'READ') {
          let n: number | undefined;
          if ((a[3] ?? '').toUpperCase() === 'COUNT') n = Number(a[4]);
          const r = this.cursors.read(id, n);
          if (!r) throw err('Cursor not found');
          return r;
        }
        throw err('Unknown subcommand');
      }
      case 'FT.EXPLAIN':
      case 'FT.EXPLAINCLI': {
        arity(2);
        const ix = this.index(a[0]!);
        const req = parseSearch(a, raw.slice(1), this.defaultDialect);
        const parsed = parseQuery(req.query, { dialect: req.dialect, params: req.params, stopwords: ix.stopwords, verbatim: req.verbatim });
        const text = explain(parsed, ix);
        return cmd === 'FT.EXPLAIN' ? text : text.split('\n').slice(0, -1);
      }
      case 'FT.TAGVALS': {
        arity(2);
        const ix = this.index(a[0]!);
        const f = ix.field(a[1]!);
        if (!f || f.type !== 'TAG') throw err(`No such tag field \`${a[1]!}\``);
        await this.sync();
        return [...ix.tags.get(f.name)!.keys()].sort();
      }
      case 'FT.DICTADD': arity(2); return this.dicts.dictAdd(a[0]!, a.slice(1));
      case 'FT.DICTDEL': arity(2); return this.dicts.dictDel(a[0]!, a.slice(1));
      case 'FT.DICTDUMP': arity(1); return this.dicts.dictDump(a[0]!);
      case 'FT.SYNUPDATE': {
        arity(3);
        this.index(a[0]!);
        let i = 2;
        if ((a[i] ?? '').toUpperCase() === 'SKIPINITIALSCAN') i++;
        return this.dicts.synUpdate(a[0]!, a[1]!, a.slice(i));
      }
      case 'FT.SYNDUMP': arity(1); this.index(a[0]!); return this.dicts.synDump(a[0]!);
      case 'FT.SUGADD': arity(3); return this.dicts.sugAdd(a);
      case 'FT.SUGGET': arity(2); return this.dicts.sugGet(a);
      case 'FT.SUGDEL': arity(2); return this.dicts.sugDel(a[0]!, a[1]!);
      case 'FT.SUGLEN': arity(1); return this.dicts.sugLen(a[0]!);
      case 'FT.CONFIG': {
        arity(2);
        const sub = a[0]!.toUpperCase();
        // Internal: a node joining the ring asks a peer for its index definitions (JSON).
        if (sub === 'GET' && a[1] === DEFINITIONS_OPTION) return JSON.stringify(this.definitions());
        if (sub === 'GET') return (a[1] === '*' || a[1]!.toUpperCase() === 'DEFAULT_DIALECT') ? [['DEFAULT_DIALECT', String(this.defaultDialect)]] : [];
        if (sub === 'SET' && a[1]!.toUpperCase() === 'DEFAULT_DIALECT') {
          const d = Number(a[2]);
          if (!Number.isInteger(d) || d < 1 || d > 4) throw err('Invalid dialect');
          this.defaultDialect = d;
          return OK;
        }
        if (sub === 'HELP') return ['DEFAULT_DIALECT'];
        throw err('Invalid option');
      }
      default:
        throw err(`ERR unknown or unsupported command '${args[0]!}'`);
    }
  }

  search(ix: SearchIndex, req: SearchRequest): Reply {
    if (req.shardKeep !== undefined) return renderShard(ix, req, runSearch(ix, req, true, req.shardKeep));
    const keep = req.offset + req.limit;
    const res = runSearch(ix, req, false, keep);
    return renderSearch(ix, req, res.total, res.hits);
  }

  aggregate(ix: SearchIndex, a: string[], raw: Buffer[]): Reply {
    const req = parseAggregate(a, raw, this.defaultDialect);
    if (req.shard) return encodeShardRows(matchRows(ix, req));
    const rows = runAggregate(ix, req);
    return renderAggregate(req, rows, this.cursors);
  }

  /** A coordinator's merge: the steps of `req` over the rows every shard matched, then the reply. */
  aggregateMerged(ix: SearchIndex, req: AggregateRequest, rows: OutRow[]): Reply {
    return renderAggregate(req, applySteps(ix, req, rows), this.cursors);
  }

  private info(ix: SearchIndex): Reply {
    const d = ix.def;
    let records = 0;
    for (const p of ix.terms.values()) records += p.size;
    const attrs: Reply[] = d.fields.map((f) => {
      const r: Reply[] = ['identifier', f.path, 'attribute', f.name, 'type', f.type];
      if (f.type === 'TEXT') r.push('WEIGHT', String(f.weight));
      if (f.type === 'TAG') r.push('SEPARATOR', f.separator);
      if (f.caseSensitive) r.push('CASESENSITIVE');
      if (f.noStem) r.push('NOSTEM');
      if (f.sortable) r.push('SORTABLE');
      if (f.noIndex) r.push('NOINDEX');
      if (f.vector) r.push('algorithm', f.vector.algorithm, 'data_type', f.vector.type, 'dim', f.vector.dim, 'distance_metric', f.vector.metric);
      return r;
    });
    const def: Reply[] = ['key_type', 'HASH', 'prefixes', d.prefixes.length ? d.prefixes : [''], 'default_score', String(d.score)];
    if (d.filter !== undefined) def.push('filter', d.filter);
    return [
      'index_name', d.name,
      'index_options', [],
      'index_definition', def,
      'attributes', attrs,
      'num_docs', String(ix.numDocs),
      'max_doc_id', String(Math.max(0, ...[...ix.docs.keys()].slice(-1))),
      'num_terms', String(ix.terms.size),
      'num_records', String(records),
      'inverted_sz_mb', String(ix.approxBytes() / (1024 * 1024)),
      'hash_indexing_failures', String(ix.indexingFailures),
      'indexing', String(ix.scanning ? 1 : 0),
      'percent_indexed', String(ix.scanProgress),
      'number_of_uses', 0,
      'cursor_stats', ['global_idle', 0, 'global_total', this.cursors.size, 'index_capacity', 128, 'index_total', 0],
      'stopwords_list', d.stopwords,
    ];
  }
}
