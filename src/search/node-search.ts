// The search layer of a running node: decodes FT.* requests the client connection hands over (the
// only search code the request path touches is one flag test there), runs them on the engine, and
// answers in the request's reply slot. Each node indexes its own datastore through a DocSource.
// In a cluster, queries are scattered over the ring and schema changes broadcast (scatter.ts);
// requests that peers send us arrive through SearchBackend and run on this node's indexes only.
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import { ABI } from '../wasm/abi.js';
import type { Backend, BlockBackend, FramedRequest, ReplyTarget } from '../dispatch/request.js';
import { BackendDecorator } from '../dispatch/backend-decorator.js';
import { decodeInline, decodeMultibulk } from '../protocol/args.js';
import { SearchEngine, profiledCommand, profileReply, type BackfillEvent, type DocSource } from './engine.js';
import { encode, ReplyErr, type Reply } from './reply.js';
import { respErrorText } from '../errors.js';
import { SearchError } from './errors.js';
import { readDefinitions, writeDefinitions } from './definitions-file.js';
import type { IndexDef } from './schema.js';
import { broadcastToPeers, fetchDefinitions, scatterAggregate, scatterSearch, type RingAccess } from './scatter.js';

/** One log line per backfill event: `search: backfill <phase>` with the index, percent and counts. */
export function logBackfill(log: Pick<Logger, 'info' | 'warn'>, e: BackfillEvent): void {
  const fields = { index: e.index, percent: Math.round(e.fraction * 1000) / 10, indexed: e.indexed, elapsedMs: e.elapsedMs };
  if (e.phase === 'failed') log.warn({ ...fields, err: e.error }, 'search: backfill failed; the index keeps what it read');
  else log.info(fields, `search: backfill ${e.phase}`);
}

export class NodeSearch {
  readonly engine: SearchEngine;
  private ring: RingAccess | undefined;

  /**
   * `definitionsFile` (search_definitions_file): where the index definitions are kept; they are
   * rewritten after every change and read back by loadPersisted().
   */
  constructor(private readonly core: Core, private readonly log: Logger, engine?: SearchEngine, private readonly definitionsFile?: string) {
    this.engine = engine ?? new SearchEngine({
      onBackfill: (e) => logBackfill(log, e),
      onDefinitions: () => this.persist(),
    });
  }

  /** The definitions kept in the definitions file (none without one); throws for a bad file, naming it. */
  readPersisted(): IndexDef[] {
    return this.definitionsFile === undefined ? [] : readDefinitions(this.definitionsFile);
  }

  /** Restores definitions read by readPersisted (call after attach: each index backfills). */
  loadPersisted(defs: IndexDef[]): void {
    this.engine.load(defs);
    if (defs.length > 0) this.log.info({ file: this.definitionsFile, indexes: defs.map((d) => d.name) }, 'search: index definitions restored');
  }

  /** Writes the current definitions to the definitions file; a failure is logged, the node goes on. */
  private persist(): void {
    if (this.definitionsFile === undefined) return;
    try {
      writeDefinitions(this.definitionsFile, this.engine.definitions());
    } catch (e) {
      this.log.error({ err: (e as Error).message, file: this.definitionsFile }, 'search: could not write the index definitions file');
    }
  }

  attach(source: DocSource): void {
    this.engine.attach(source);
  }

  /**
   * Joins the ring: queries scatter, schema changes broadcast (when there are peers). Until one peer
   * has answered, asks a connected peer for its index definitions every second and adopts the ones
   * this node lacks (a restarted or newly joined node gets the ring's indexes). A peer that fails
   * the request is not asked again: a Netflix dynomite peer closes its link on FT.CONFIG, and asking
   * it every second would cut every request in flight on that link every second.
   */
  joinRing(ring: RingAccess): void {
    this.ring = ring;
    const nodes = ring.topology().nodes.length;
    if (nodes <= 1) return;
    const failed = new Set<number>();
    const tick = (): void => {
      if (this.closed) return;
      void fetchDefinitions(this.core, ring, failed).then(({ defs, asked }) => {
        if (defs === undefined) {
          if (asked !== undefined) failed.add(asked);
          if (failed.size >= nodes - 1) {
            this.log.warn({ peers: failed.size }, 'search: no peer answered FT.CONFIG GET with index definitions (Netflix dynomite peers have no FT.*); not asking again');
            return;
          }
          this.catchUp = setTimeout(tick, 1000);
          this.catchUp.unref();
          return;
        }
        this.engine.load(defs);
        this.persist();
        this.log.info({ indexes: defs.map((d) => d.name) }, 'search: index definitions from a peer');
      });
    };
    tick();
  }

  private catchUp: NodeJS.Timeout | undefined;
  private closed = false;

  close(): void {
    this.closed = true;
    if (this.catchUp) clearTimeout(this.catchUp);
  }

  private args(target: ReplyTarget, seq: number, req: FramedRequest): Buffer[] | undefined {
    const u8 = this.core.u8;
    const args = req.inline ? decodeInline(u8, req.off, req.len) : decodeMultibulk(u8, req.off, req.len);
    if (!args || args.length === 0) {
      target.completeBuffer(seq, respErrorText('Protocol error: bad inline request'));
      return undefined;
    }
    return args;
  }

  private answer(target: ReplyTarget, seq: number, p: Promise<Reply>): void {
    p.then(
      (r) => target.completeBuffer(seq, encode(r)),
      (e: Error) => {
        this.log.error({ err: e.message }, 'search command failed');
        target.completeBuffer(seq, encode(new ReplyErr(`ERR Search: ${e.message}`)));
      },
    );
  }

  /** A client's FT.* request. */
  handle(target: ReplyTarget, seq: number, req: FramedRequest, affinity = 0): void {
    const args = this.args(target, seq, req);
    if (!args) return;
    const ring = this.ring;
    if (ring === undefined || ring.topology().nodes.length <= 1) return this.answer(target, seq, this.engine.execute(args));
    const name = args[0]!.toString('latin1').toUpperCase();
    const flags = this.core.i32[req.rec + ABI.REC_FLAGS];
    if ((flags & ABI.CF_BROADCAST) !== 0) {
      broadcastToPeers(ring, req, affinity);
      return this.answer(target, seq, this.engine.execute(args));
    }
    if (name === 'FT.SEARCH' || name === 'FT.AGGREGATE' || name === 'FT.PROFILE') {
      return this.answer(target, seq, this.scatter(ring, args, affinity));
    }
    // FT.CURSOR READ / DEL: a cursor lives on the node that answered its FT.AGGREGATE (this one,
    // when the client comes back to it); FT.INFO, FT.EXPLAIN, ... describe this node.
    this.answer(target, seq, this.engine.execute(args));
  }

  /** FT.SEARCH / FT.AGGREGATE (or either under FT.PROFILE) over the ring. */
  private async scatter(ring: RingAccess, args: Buffer[], affinity: number): Promise<Reply> {
    try {
      const name = args[0]!.toString('latin1').toUpperCase();
      const inner = name === 'FT.PROFILE' ? profiledCommand(args) : args;
      const t0 = performance.now();
      const run = inner[0]!.toString('latin1').toUpperCase() === 'FT.SEARCH' ? scatterSearch : scatterAggregate;
      const result = await run(this.core, ring, this.engine, inner, affinity);
      return name === 'FT.PROFILE' && !(result instanceof ReplyErr) ? profileReply(result, performance.now() - t0) : result;
    } catch (e) {
      return new ReplyErr(e instanceof SearchError ? e.message : `ERR Search: ${(e as Error).message}`);
    }
  }

  /** A request a peer sent us (a broadcast schema change, or a shard query): this node only. */
  handleLocal(target: ReplyTarget, seq: number, req: FramedRequest): void {
    const args = this.args(target, seq, req);
    if (args) this.answer(target, seq, this.engine.execute(args));
  }
}

/** The datastore as peers reach it: FT.* requests go to this node's search engine. */
export class SearchBackend extends BackendDecorator {
  constructor(private readonly store: Backend & { available?: boolean }, private readonly search: NodeSearch, private readonly core: Core) {
    super(store);
  }

  get available(): boolean | undefined {
    return this.store.available;
  }

  /** Transactions go to the datastore untouched (FT.* commands cannot be queued). */
  get blocks(): BlockBackend | undefined {
    return this.inner.blocks;
  }

  forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    if (req.src !== 'built' && (this.core.i32[req.rec + ABI.REC_FLAGS] & ABI.CF_SEARCH) !== 0) {
      this.search.handleLocal(target, seq, req);
      return;
    }
    this.inner.forward(target, seq, req, affinity);
  }
}
