// Where a client's framed request goes next. A single node hands it to its datastore; a cluster
// node plans targets on the ring and fans out (src/dispatch/cluster.ts). The client connection only
// knows this interface, so data keeps flowing one way: client -> dispatch -> store / peers.
import type { ConsistencyLevel } from '../conf/types.js';
import type { Backend, BlockBackend, FramedRequest, ReplyTarget } from './request.js';

export interface Dispatcher {
  /**
   * Sends one request on its way. The request's bytes and record are valid only during this call.
   * `consistency` is the level that applies to this request (connection override or node default).
   */
  dispatch(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, consistency: ConsistencyLevel): void;
  /** Transactions (src/net/transaction.ts); undefined where the datastore cannot run them. */
  readonly tx: TxDispatch | undefined;
}

/** Where a transaction's keys route: set by its first key (WATCH or queued), the same for every other. */
export interface TxRoute {
  /** Ring token of the first key; meaningful once `keyed`. */
  token: number;
  keyed: boolean;
}

/** What a client connection needs to run MULTI ... EXEC and WATCH. */
export interface TxDispatch {
  /**
   * Why request req (a command being queued, or a WATCH) cannot be part of a transaction routed by
   * `route` (an error text, `ERR ...`), or undefined when it can; the first key sets route.
   */
  admit(route: TxRoute, req: FramedRequest): string | undefined;
  /** WATCH: reserves the datastore connection(s) of affinity and sends req (the WATCH) on them. */
  watch(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, route: TxRoute): void;
  /**
   * EXEC: sends block (MULTI, the queued commands, EXEC) as one unit to every replica of route and
   * answers target's slot seq with EXEC's reply; then ends affinity's reservations.
   */
  exec(target: ReplyTarget, seq: number, block: readonly Buffer[], affinity: number, route: TxRoute,
    isWrite: boolean, consistency: ConsistencyLevel): void;
  /** DISCARD, UNWATCH, RESET, a closed client: ends affinity's reservations (the WATCH is dropped). */
  release(affinity: number, route: TxRoute): void;
}

/** A single node: every request goes to the local datastore. */
export class LocalDispatcher implements Dispatcher {
  readonly tx: TxDispatch | undefined;

  constructor(private readonly backend: Backend) {
    this.tx = backend.blocks !== undefined ? new LocalTx(backend, backend.blocks) : undefined;
  }

  dispatch(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    this.backend.forward(target, seq, req, affinity);
  }
}

/** Transactions on one datastore: every key has the same owner, so anything may be queued. */
export class LocalTx implements TxDispatch {
  constructor(private readonly backend: Backend, private readonly blocks: BlockBackend) {}

  admit(): string | undefined {
    return undefined;
  }

  watch(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    const refused = this.blocks.pin(affinity);
    if (refused !== undefined) {
      target.completeBuffer(seq, Buffer.from(`-${refused}\r\n`, 'latin1'));
      return;
    }
    this.backend.forward(target, seq, req, affinity);
  }

  exec(target: ReplyTarget, seq: number, block: readonly Buffer[], affinity: number): void {
    this.blocks.forwardBlock(target, seq, block, affinity);
    this.blocks.unpin(affinity);
  }

  release(affinity: number): void {
    this.blocks.unpin(affinity);
  }
}
