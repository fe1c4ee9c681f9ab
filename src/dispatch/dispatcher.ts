// Where a client's framed request goes next. A single node hands it to its datastore; a cluster
// node plans targets on the ring and fans out (src/dispatch/cluster.ts). The client connection only
// knows this interface, so data keeps flowing one way: client -> dispatch -> store / peers.
import type { ConsistencyLevel } from '../conf/types.js';
import type { Backend, FramedRequest, ReplyTarget } from './request.js';

export interface Dispatcher {
  /**
   * Sends one request on its way. The request's bytes and record are valid only during this call.
   * `consistency` is the level that applies to this request (connection override or node default).
   */
  dispatch(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, consistency: ConsistencyLevel): void;
}

/** A single node: every request goes to the local datastore. */
export class LocalDispatcher implements Dispatcher {
  constructor(private readonly backend: Backend) {}

  dispatch(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    this.backend.forward(target, seq, req, affinity);
  }
}
