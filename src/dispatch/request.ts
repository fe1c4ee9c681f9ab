// The request chain's contracts: what a framed request is (FramedRequest), where its reply goes
// (ReplyTarget), and the two things a request is forwarded to (a Backend: the local datastore; a
// Peer: another node). Every stage below speaks only these types, so data flows one way.
//
// The whole chain, by function name (a client request, its replies, and the side paths):
//
//   net/client-conn    ClientConn.onData(chunk)
//   wasm/framer          └─ Framer.feed ─► frameStaged: one WASM call frames every message staged
//                           (assembly/resp.ts | memcache.ts; a partial message is kept as a tail and
//                           resumed on the next read) ─► sink.onFrames(framer, base, count)
//   net/client-conn    ClientConn.onFrames: per record: framer error | pseudo-command | openSlot()
//                        └─ ctx.dispatcher.dispatch(this, seq, req, affinity, level)
//   dispatch/dispatcher  LocalDispatcher.dispatch ─► Backend.forward            (single node)
//   dispatch/cluster     ClusterDispatcher.dispatch                             (cluster member)
//                          ├─ broadcast (SCRIPT LOAD, FLUSHALL ...) ─► every node, local reply answers
//                          ├─ keyless ─► Backend.forward (local)
//                          ├─ multi-key spanning owners ─► fragment: one FragmentedRequest per owner
//                          │    group (dispatch/fragment.ts), merged by the command's merge column
//                          └─ single(token) ─► plan() (route/planner.ts, on the Topology's rings)
//                               ├─ one target ─► Backend.forward | Peer.send (the reply passes through)
//                               └─ several ─► Fanout.send (dispatch/fanout.ts): per target
//                                    Backend.forward | Peer.send | skipped (HintSink.add)
//   store/server-pool    ServerPool.forward ─► net/server-conn ServerConn.send ─► OutBuffer.append
//   store/memory-backend MemoryBackend.forward (embedded datastore: answers synchronously)
//   cluster/peer-conn    PeerConn.send ─► PeerSocket.send: dnode header + bytes ─► OutBuffer.append
//   net/flusher          Flusher.mark(conn) ... setImmediate ─► flushAll ─► conn.flush: one write
//                        per socket per event-loop turn
//
//   replies:
//   net/server-conn      ServerConn.onData ─► Framer.feed('resp-reply' | 'mc-reply') ─► onFrames
//   cluster/peer-conn    PeerSocket.onData ─► Framer.feed('dnode') ─► onFrames (RES, msg_id = FIFO head)
//                          └─ target.complete(seq, bytes)        (each ReplyTarget below)
//   dispatch/fanout      Fanout.complete / fail ─► CoalesceTracker.onReply / onFailure
//                          (dispatch/coalesce.ts, on the reply's 64-bit digest: the framer's record
//                          for a datastore reply, else digested once) ─► decide: once
//   dispatch/fragment    FragmentedRequest.complete ─► merge by the merge column (MG_ARRAY | MG_SUM | MG_ALL_OK | MG_MC_VALUES)
//   net/client-conn      ClientConn.complete ─► ReplyQueue.complete (net/reply-queue.ts): holds
//                        replies that arrive early ─► advance ─► writeReply in request order
//                        ─► OutBuffer.append ─► repliesWritten ─► Flusher.mark ─► one socket write
//
//   transactions (net/transaction.ts): MULTI ... EXEC queued by ClientConn.queue; at EXEC
//   ClientConn.exec ─► TxDispatch.exec (dispatch/dispatcher.ts) ─► BlockBackend.forwardBlock:
//                        MULTI + commands + EXEC as one write on one connection (WATCH: the client's
//                        reserved one, BlockBackend.pin) ─► EXEC's reply ─► ClientConn.complete
//                      cluster: ClusterTx.exec (dispatch/cluster-tx.ts) ─► DYNO_TX request ─► single()
//                        like a write ─► every replica: BlockUnwrap.forward ─► forwardBlock
//
//   side paths:
//   repair/hints         writes a replica missed: Fanout.send ─► HintSink.add (peer down) |
//                        HintSink.guard (send, keep on a connection failure) ─► HintStore.keep
//                        ─► onPeerUp / tick ─► pump ─► Peer.send (replayed in order on link 0)
//   repair/read-repair   Fanout.decide ─► DivergenceSink.onDivergence ─► ReadRepair.repair
//                        ─► RepairTask: PTTL + GET|DUMP on a winner, SET|RESTORE|DEL on the others
//   repair/anti-entropy  AntiEntropy.run (anti_entropy_interval | GET /anti_entropy/run): takeSnapshot
//                        (SCAN + PTTL/DUMP on Backend.forward, aeDigestBatch per batch) ─► per segment
//                        Peer.send of `HMGET __dynomite_ts_ae__ BEGIN|TREE|KEYS|FETCH|APPLY|END ...`
//                        ─► their ClusterDispatcher.onPeerRequest ─► AntiEntropy.onPeerRequest;
//                        differing keys ─► version-rule decide ─► RESTORE | DEL (journal-checked)
//   net/pubsub           PUBLISH: ClientConn ─► PubSubHub.deliver (this node's subscribers)
//                        ─► PublishRelay.publish (dispatch/publish.ts): a dnode REQ carrying the message
//                        to every peer in scope ─► their ClusterDispatcher.onPeerRequest ─► peerPublish
//                        ─► their PubSubHub.deliver; PUBLISH's reply sums the receivers
//   cluster/dnode-listener  requests from peers: DnodePeerConn.onData ─► Framer.feed('dnode')
//                        ─► onFrames ─► request(): the payload framed again ─► DnodeHandler.onPeerRequest
//                        ─► ClusterDispatcher.onPeerRequest ─► Backend.forward (type REQ) or a
//                        local-DC re-plan (type REQ_FORWARD) ─► DnodePeerConn.complete ─► ReplyQueue
//                        ─► writeReply: dnode RES header + reply bytes
import type { DynErrorCode } from '../errors.js';
import type { ABI } from '../wasm/abi.js';

/** Where a reply goes: a client connection's ordered reply slot (or a coalescer later on). */
export interface ReplyTarget {
  /**
   * The reply for slot seq is at src[off, off+len): copy what you keep before returning. `rec`,
   * when given, is the reply's frame record (index into core.i32) with its digest in
   * REC_DIGEST_LO/HI: given only to a target that `readsDigests`, and only while the record is valid.
   */
  complete(seq: number, src: Uint8Array, off: number, len: number, rec?: number): void;
  /** The reply for slot seq is b (owned by the callee from now on). */
  completeBuffer(seq: number, b: Buffer): void;
  /** The request in slot seq failed before the datastore answered. */
  fail(seq: number, code: DynErrorCode): void;
  /**
   * True for a target that compares its replies by digest (the fan-out): a datastore connection
   * has its reply framer digest replies only while such a target has requests in flight.
   */
  readonly readsDigests?: boolean;
  /**
   * Optional, called by a sender during send(): `bytes` is an exact-size copy of the request bytes
   * that the sender wrote and never changes (a peer link's large payloads), so a target that needs
   * the request after the send (a hint guard) can keep this reference instead of its own copy.
   */
  sentCopy?(seq: number, bytes: Buffer): void;
}

/** One framed request: its bytes in core memory and its record (index into core.i32). */
export interface FramedRequest {
  /** Byte address of the message in core memory. */
  off: number;
  len: number;
  /** Index of its frame record in core.i32. */
  rec: number;
  /** Byte address record offsets are relative to. */
  base: number;
  /** False for memcached noreply requests: the datastore sends nothing back. */
  expectReply: boolean;
  /** An inline (not multibulk) Redis command: arguments must be split as Redis's sdssplitargs does. */
  inline: boolean;
  /**
   * Set on requests the dispatcher built, whose record does not describe them: fragments ('built'),
   * a transaction's DYNO_TX block ('tx', src/dispatch/cluster-tx.ts).
   */
  src?: 'built' | 'tx';
}

/**
 * The local datastore as the chain sees it. Implementations: ServerPool (a pool of connections to
 * Redis or memcached, store/server-pool.ts) and MemoryBackend (the embedded datastore, answered
 * synchronously, store/memory-backend.ts).
 */
export interface Backend {
  /** Human name for logs and stats: `host:port` or `memory`. */
  readonly name: string;
  /** Queues a request; the reply (or failure) reaches target.complete*(seq) later or synchronously. */
  forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void;
  /** Starts connecting (preconnect). */
  start(): Promise<void>;
  /** Stops accepting requests, fails what is in flight, closes connections. */
  close(): Promise<void>;
  /** Requests sent and not yet answered. */
  inflight(): number;
  /** Transactions (Redis over a ServerPool, the embedded store); absent: MULTI is refused. */
  readonly blocks?: BlockBackend;
}

/**
 * What transactions need from the datastore (src/net/transaction.ts): a block of requests that
 * reaches one connection as one write (MULTI ... EXEC: no other client's command can come between
 * them on that connection, and Redis runs EXEC's commands as one unit), and a connection reserved
 * for one client from WATCH to EXEC, because WATCH is connection state.
 */
export interface BlockBackend {
  /**
   * Sends every request of `block` (complete RESP requests) in order as one write on affinity's
   * connection: its reserved one while it holds one, else its usual one. One reply is expected per
   * request; target's slot seq gets the last one (EXEC's), the others are dropped.
   */
  forwardBlock(target: ReplyTarget, seq: number, block: readonly Buffer[], affinity: number): void;
  /**
   * Reserves a connection for affinity (until unpin): every request of that client goes through it
   * from now on, so its WATCH and EXEC share the connection. Returns an error text (`ERR ...`)
   * when no connection can be reserved; pinning twice is a no-op.
   */
  pin(affinity: number): string | undefined;
  /**
   * Ends affinity's reservation (after EXEC, DISCARD, UNWATCH, or when the client is gone). The
   * requests already sent on it are answered first: the connection is handed back only once they
   * are, and the client's next requests keep following it until then, so they stay in order.
   */
  unpin(affinity: number): void;
  /** Reserved connections right now (INFO / stats, tests). */
  pinned(): number;
}

/**
 * The dnode request types a node sends a peer: DN_TYPE_REQ (3, apply on your datastore) and
 * DN_TYPE_REQ_FORWARD (4, a request from another DC: re-plan it inside your DC).
 */
export type PeerRequestType = typeof ABI.DN_TYPE_REQ | typeof ABI.DN_TYPE_REQ_FORWARD;

/** Peer.send flag: a write (the link's write timeout applies). */
export const PEER_SEND_WRITE = 1;
/** Peer.send flag: memcached noreply: the peer answers nothing, so the request completes empty at once. */
export const PEER_SEND_NOREPLY = 2;

/** A whole peer node as the chain sees it (cluster/peer-conn.ts PeerConn fits). */
export interface Peer {
  /** At least one of its links is connected. */
  readonly up: boolean;
  /**
   * What its gossiped node state lets it serve (STANDBY: nothing; WRITES_ONLY, RESUMING: writes
   * only). Absent = everything. Reads skip a peer that refuses them, as a DOWN one.
   */
  readonly serves?: { readonly reads: boolean; readonly writes: boolean };
  /** Sends core.u8[off, off+len) as a dnode request; flags: PEER_SEND_WRITE | PEER_SEND_NOREPLY. */
  send(type: PeerRequestType, target: ReplyTarget, seq: number, off: number, len: number, affinity: number, flags?: number): void;
}
