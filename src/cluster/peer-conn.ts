// Outbound dnode transport to one peer node (its dyn_listen), wire-compatible with Netflix Dynomite
// (its place in the chain: src/dispatch/request.ts). PeerConn.send picks PeerSocket[affinity % n],
// which writes the header `   $2014$ <id> <type> 0 1 <same_dc> *1 d *<len>\r\n` and the request
// bytes; RES records framed from the socket are matched with its in-flight FIFO head by msg_id and
// their payload (the datastore reply bytes the peer sent back) completes the request.
//
// A peer answers the requests of one connection in order (Netflix's dnode client sends responses from
// the head of its out queue), so each link keeps a FIFO of what it sent; a response must carry the
// msg_id of the FIFO head. Netflix's own reader tolerates a mismatch (drops a response "from the
// past", fails the requests it skips); we treat one as a broken stream instead: close, fail every
// request in flight, reconnect. Nothing is ever delivered to the wrong request.
//
// A timed-out request poisons the FIFO the same way (its late reply would be taken for the next), so a
// timeout fails everything in flight on that link and reconnects, as ServerConn does.
//
// Encrypted links (secure_server_option, opts.crypto set; see src/crypto/dnode-crypto.ts): each socket
// gets a fresh AES key; its first request carries the RSA-wrapped key in the data field, every request
// has flags 1 and an AES payload (one stream per mbuf_size - 64 bytes, as Netflix), and encrypted RES
// payloads are decrypted (in mbuf_size - 48-byte pieces) before delivery.
import type { Logger } from 'pino';
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { Framer, FramingError, type FrameSink } from '../wasm/framer.js';
import type { DynErrorCode } from '../errors.js';
import { PEER_SEND_NOREPLY, PEER_SEND_WRITE, type Peer, type PeerRequestType, type ReplyTarget } from '../dispatch/request.js';
import type { Flushable, Flusher } from '../net/flusher.js';
import { OutBuffer } from '../net/out-buffer.js';
import { NumberFifo, Fifo } from '../net/fifo.js';
import { aesChunking, aesCipherLength, aesEncryptTo, decryptRecord, DnodeCryptoError, encryptedHeader, generateAesKey, rsaWrap, type AesChunking, type DnodeKeys } from '../crypto/dnode-crypto.js';
import { DnodeRecords } from '../wasm/dnode.js';
import { DNODE_HEADER_MAX, writeDnodeHeader } from '../protocol/dnode.js';
import { NO_REPLY } from '../protocol/replies.js';
import { TCP_TRANSPORT, type LinkSocket, type PeerTransport } from '../net/transport.js';

export interface PeerConnOptions {
  /** The peer's dyn_listen address. */
  host: string;
  port: number;
  dc: string;
  rack: string;
  /** Sent in every header (Netflix: 1 when the peer is in our DC). */
  sameDc: boolean;
  /** Sockets to this peer (Netflix local_peer_connections / remote_peer_connections). @default 1 */
  connections?: number;
  /** Per-request timeout for reads, ms. Netflix uses `timeout` + 200 (same DC) or + 5000 (remote). */
  timeoutMs: number;
  /** Per-request timeout for writes (PEER_SEND_WRITE), ms. Netflix adds 20000. @default timeoutMs */
  writeTimeoutMs?: number;
  /** Largest response accepted (header + payload). */
  maxMessage: number;
  /** Connect every link in start(). @default true */
  preconnect?: boolean;
  /** Set when secure_server_option secures this link: every message is AES-encrypted. */
  crypto?: DnodeKeys;
  /** Netflix mbuf_size: an encrypted payload is one AES stream per mbuf's worth of bytes. @default 16384 */
  mbufSize?: number;
  /** How links are opened. @default TCP */
  transport?: PeerTransport;
}

/** Per-peer stats and state hooks (the node implements these; every one is optional). */
export interface PeerConnHooks {
  /** A request was queued on a link: Netflix peer_requests / peer_request_bytes (payload bytes). */
  onRequest?(peer: PeerConn, bytes: number): void;
  /** A response was delivered: peer_responses / peer_response_bytes (payload bytes). */
  onResponse?(peer: PeerConn, latencyUs: number, bytes: number): void;
  /** The peer closed a link (peer_eof). */
  onEof?(peer: PeerConn): void;
  /** A link failed: connect error, reset, unparseable or mismatched response (peer_err). */
  onError?(peer: PeerConn, why: string): void;
  /** A link timed out; `requests` were failed with it (peer_timedout / remote_peer_timedout). */
  onTimeout?(peer: PeerConn, requests: number): void;
  /** A link connected / went down (peer_connections gauge; `up` is the peer's state after the change). */
  onLinkUp?(peer: PeerConn, link: number): void;
  onLinkDown?(peer: PeerConn, link: number, why: string): void;
  /** A non-response message (gossip, crypto, debug) arrived on an outbound link: payload is a copy. */
  onOther?(peer: PeerConn, type: number, msgId: number, payload: Buffer): void;
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2000;
const MSG_ID_LIMIT = 2 ** 53;

/** One socket to the peer: its own msg_id sequence, in-flight FIFO and reply framer. */
class PeerSocket implements FrameSink, Flushable {
  flushQueued = false;
  state: 'down' | 'connecting' | 'up' = 'down';
  /** When the link last went down (0 = up, connecting for the first time, or never tried). */
  downSince = 0;
  backoff = BACKOFF_MIN_MS;
  reconnectTimer: NodeJS.Timeout | undefined;
  private socket: LinkSocket | undefined;
  private out: OutBuffer | undefined;
  private framer: Framer | undefined;
  private nextMsgId = 1;
  private readonly targets = new Fifo<ReplyTarget>(256);
  private readonly seqs = new NumberFifo(256);
  private readonly msgIds = new NumberFifo(256);
  private readonly sentAt = new NumberFifo(256);
  private readonly deadlines = new NumberFifo(256);
  /** A lower bound of the in-flight deadlines (exact after each recompute; Infinity when empty). */
  private minDeadline = Infinity;
  private readonly header = Buffer.allocUnsafe(DNODE_HEADER_MAX);
  private readonly records: DnodeRecords;
  /** Encrypted links: this socket's AES key, and whether the wrapped key went out already. */
  private aesKey: Buffer | undefined;
  private keySent = false;

  constructor(
    private readonly peer: PeerConn,
    readonly index: number,
    private readonly core: Core,
  ) {
    this.records = new DnodeRecords(core);
  }

  get inflight(): number {
    return this.targets.length;
  }

  /** Connects; resolves when connected, rejects when the attempt fails (teardown already ran). */
  open(): Promise<void> {
    if (this.state !== 'down') return Promise.resolve();
    this.state = 'connecting';
    const socket = (this.peer.opts.transport ?? TCP_TRANSPORT).connect({ host: this.peer.opts.host, port: this.peer.opts.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.out = new OutBuffer(socket);
    this.framer = new Framer(this.core, 'dnode', this.peer.opts.maxMessage);
    // Netflix generates a key per connection and sends it again after a reconnect.
    this.aesKey = this.peer.opts.crypto !== undefined ? generateAesKey() : undefined;
    this.keySent = false;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      socket.once('connect', () => {
        if (socket !== this.socket) return;
        this.state = 'up';
        this.downSince = 0;
        this.backoff = BACKOFF_MIN_MS;
        this.peer.linkUp(this);
        settle();
      });
      socket.on('data', (chunk: Buffer) => {
        if (socket === this.socket) this.onData(chunk);
      });
      socket.on('error', (err: Error) => {
        settle(err);
        if (socket === this.socket) this.teardown('PEER_ERR_REFUSED', err.message, false);
      });
      socket.on('close', () => {
        settle(new Error('connection closed'));
        if (socket === this.socket) this.teardown('PEER_ERR_REFUSED', 'connection closed by peer', true);
      });
    });
  }

  /** Queues one request (header + core.u8[off, off+len)); copies the bytes before returning. */
  send(type: number, target: ReplyTarget, seq: number, off: number, len: number, flags: number, now: number): void {
    const id = this.nextMsgId;
    this.nextMsgId = id + 1 >= MSG_ID_LIMIT ? 1 : id + 1;
    const out = this.out!;
    const keys = this.peer.opts.crypto;
    if (keys !== undefined) {
      const wrapped = this.keySent ? undefined : rsaWrap(keys, this.aesKey!);
      this.keySent = true;
      out.appendBuffer(encryptedHeader(id, type, this.peer.opts.sameDc ? 1 : 0, wrapped, aesCipherLength(len, this.peer.aes)));
      aesEncryptTo(this.aesKey!, this.core.u8.subarray(off, off + len), this.peer.aes, out);
    } else {
      const h = this.header;
      out.append(h, 0, writeDnodeHeader(h, 0, id, type, this.peer.opts.sameDc ? 1 : 0, len));
      const kept = out.append(this.core.u8, off, len);
      if (kept !== undefined) target.sentCopy?.(seq, kept);
    }
    if ((flags & PEER_SEND_NOREPLY) !== 0) {
      target.completeBuffer(seq, NO_REPLY);
    } else {
      const deadline = now + ((flags & PEER_SEND_WRITE) !== 0 ? this.peer.writeTimeoutMs : this.peer.opts.timeoutMs);
      this.targets.push(target);
      this.seqs.push(seq);
      this.msgIds.push(id);
      this.sentAt.push(now);
      this.deadlines.push(deadline);
      if (deadline < this.minDeadline) this.minDeadline = deadline;
    }
    this.peer.flusher.mark(this);
  }

  /** Writes one message that expects no reply (gossip) and flushes it now; false when not up. */
  sendOneWay(type: number, payload: Buffer): boolean {
    const out = this.out;
    if (this.state !== 'up' || out === undefined) return false;
    const id = this.nextMsgId;
    this.nextMsgId = id + 1 >= MSG_ID_LIMIT ? 1 : id + 1;
    const keys = this.peer.opts.crypto;
    if (keys !== undefined) {
      const wrapped = this.keySent ? undefined : rsaWrap(keys, this.aesKey!);
      this.keySent = true;
      out.appendBuffer(encryptedHeader(id, type, this.peer.opts.sameDc ? 1 : 0, wrapped, aesCipherLength(payload.length, this.peer.aes)));
      aesEncryptTo(this.aesKey!, payload, this.peer.aes, out);
    } else {
      const h = this.header;
      out.append(h, 0, writeDnodeHeader(h, 0, id, type, this.peer.opts.sameDc ? 1 : 0, payload.length));
      out.append(payload, 0, payload.length);
    }
    out.flush();
    return true;
  }

  flush(): void {
    this.out?.flush();
  }

  private onData(chunk: Buffer): void {
    try {
      this.framer!.feed(chunk, this);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.broken(`unparseable dnode stream: ${err.reason} at byte ${err.position}`);
    }
  }

  /** The stream cannot be trusted any more: log, close, fail what is in flight. */
  private broken(why: string): void {
    this.peer.log.warn({ peer: this.peer.name, link: this.index, why }, 'closing peer connection');
    this.socket?.destroy();
    this.teardown('PEER_ERR_REFUSED', why, false);
  }

  onFrames(_f: Framer, base: number, count: number): void {
    // Completers may frame (the dnode listener's payloads, a fragment's sub-requests) and reuse the
    // record table: copy the records first. The Framer read its RESULT block before calling us
    // (test/framer.test.ts), so that needs no saving.
    const recs = this.records;
    recs.copy(base, count);
    const now = performance.now();
    for (let i = 0; i < count && this.socket !== undefined; i++) {
      const type = recs.type[i];
      let plain: Buffer | undefined;
      if ((recs.flags[i] & ABI.DN_FLAG_ENCRYPTED) !== 0) {
        try {
          [this.aesKey, plain] = decryptRecord(recs, i, this.peer.opts.crypto, this.aesKey, this.peer.aes);
        } catch (err) {
          if (!(err instanceof DnodeCryptoError)) throw err;
          this.broken(`undecryptable dnode message: ${err.message}`);
          break;
        }
      }
      if (type !== ABI.DN_TYPE_RES) {
        if (type >= ABI.DN_TYPE_CRYPTO_HANDSHAKE) {
          this.peer.hooks.onOther?.(this.peer, type, recs.msgId(i), plain ?? recs.payloadCopy(i));
          continue;
        }
        this.broken(`unexpected dnode message type ${type} on a peer connection`);
        break;
      }
      const id = recs.msgId(i);
      if (this.targets.length === 0 || this.msgIds.peek() !== id) {
        const want = this.targets.length === 0 ? 'none' : String(this.msgIds.peek());
        this.broken(`response msg_id ${id} does not match the oldest request (${want})`);
        break;
      }
      const target = this.targets.shift()!;
      const seq = this.seqs.shift();
      this.msgIds.shift();
      this.deadlines.shift();
      const sent = this.sentAt.shift();
      if (this.targets.length === 0) this.minDeadline = Infinity;
      const len = plain !== undefined ? plain.length : recs.payloadLen[i];
      this.peer.hooks.onResponse?.(this.peer, (now - sent) * 1000, len);
      if (plain !== undefined) target.completeBuffer(seq, plain);
      else target.complete(seq, this.core.u8, recs.payloadAt[i], len);
    }
  }

  /** Fails everything in flight when a request outlived its deadline; true when it did. */
  checkTimeouts(now: number): boolean {
    if (now < this.minDeadline) return false;
    // The bound may be stale (its request was answered): recompute it exactly, rarely.
    let min = Infinity;
    for (let i = 0; i < this.deadlines.length; i++) min = Math.min(min, this.deadlines.at(i));
    this.minDeadline = min;
    if (now < min) return false;
    const n = this.targets.length;
    this.peer.log.warn({ peer: this.peer.name, link: this.index, requests: n }, 'peer request timed out');
    this.peer.hooks.onTimeout?.(this.peer, n);
    this.socket?.destroy();
    this.teardown('PEER_ERR_TIMEOUT', 'request timed out', false);
    return true;
  }

  teardown(code: DynErrorCode, why: string, eof: boolean): void {
    if (this.socket === undefined) return;
    const wasUp = this.state === 'up';
    this.socket = undefined;
    this.state = 'down';
    this.framer?.close();
    this.framer = undefined;
    this.out?.reset();
    this.out = undefined;
    this.minDeadline = Infinity;
    // Fail in send order; the completers see the Peer error in each slot.
    while (this.targets.length > 0) {
      const t = this.targets.shift()!;
      const seq = this.seqs.shift();
      this.msgIds.shift();
      this.sentAt.shift();
      this.deadlines.shift();
      t.fail(seq, code);
    }
    this.peer.linkDown(this, why, eof && wasUp);
  }

  /** Closes for good. */
  close(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const s = this.socket;
    this.teardown('PEER_ERR_NOT_CONNECTED', 'closing', false);
    s?.destroy();
  }
}

/**
 * One peer node: `connections` links, reconnect with exponential backoff (50 ms .. 2 s), fail fast
 * with PEER_ERR_NOT_CONNECTED while a link is down, one coarse clock for every request deadline.
 */
export class PeerConn implements Peer {
  readonly name: string;
  readonly opts: Required<Omit<PeerConnOptions, 'crypto' | 'transport'>> & Pick<PeerConnOptions, 'crypto' | 'transport'>;
  /** Encrypted payloads' AES streams, from opts.mbufSize. */
  readonly aes: AesChunking;
  private readonly links: PeerSocket[];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    core: Core,
    opts: PeerConnOptions,
    readonly flusher: Flusher,
    readonly log: Logger,
    readonly hooks: PeerConnHooks = {},
  ) {
    this.opts = {
      connections: 1, writeTimeoutMs: opts.timeoutMs, preconnect: true, mbufSize: 16384, ...opts,
    };
    this.aes = aesChunking(this.opts.mbufSize);
    this.name = `${opts.host}:${opts.port}`;
    const n = Math.max(1, this.opts.connections);
    this.links = [];
    for (let i = 0; i < n; i++) this.links.push(new PeerSocket(this, i, core));
  }

  get writeTimeoutMs(): number {
    return this.opts.writeTimeoutMs;
  }

  /** 'up' when every link is connected, 'down' when none is up or connecting, else 'connecting'. */
  get state(): 'up' | 'connecting' | 'down' {
    let up = 0;
    let trying = 0;
    for (const l of this.links) {
      if (l.state === 'up') up++;
      else if (l.state === 'connecting') trying++;
    }
    if (up === this.links.length) return 'up';
    return up > 0 || trying > 0 ? 'connecting' : 'down';
  }

  /**
   * Set by gossip (enable_gossip) while its failure detector holds the peer DOWN: `up` is then false
   * whatever the links say, so routing, hints and read repair treat the peer as unreachable.
   */
  gossipDown = false;

  /** /peer/down: the operator holds the peer DOWN until /peer/up or /peer/reset. */
  operatorDown = false;

  /** What the peer's gossiped node state lets it serve (set by gossip; see dispatch Peer.serves). */
  serves = { reads: true, writes: true };

  /** True when at least one link is connected (and gossip does not hold the peer DOWN). */
  get up(): boolean {
    return !this.gossipDown && !this.operatorDown && this.links.some((l) => l.state === 'up');
  }

  /** Starts the timeout clock and (unless preconnect is false) connects every link; never rejects. */
  async start(): Promise<void> {
    const tick = Math.max(10, Math.min(100, Math.min(this.opts.timeoutMs, this.opts.writeTimeoutMs) / 4));
    this.timer = setInterval(() => this.checkTimeouts(), tick);
    this.timer.unref();
    if (!this.opts.preconnect) return;
    await Promise.all(this.links.map((l) => l.open().catch(() => undefined)));
  }

  /**
   * Sends a dnode REQ (3) or REQ_FORWARD (4) carrying the datastore request core.u8[off, off+len)
   * (copied before returning) on link `affinity % connections`. Later exactly one of
   * target.complete(seq, u8, payloadOff, payloadLen) (the peer's RES payload: the datastore reply) or
   * target.fail(seq, PEER_ERR_NOT_CONNECTED | PEER_ERR_REFUSED | PEER_ERR_TIMEOUT) runs, possibly
   * synchronously (fail fast). flags: PEER_SEND_WRITE, PEER_SEND_NOREPLY.
   */
  send(type: PeerRequestType, target: ReplyTarget, seq: number, off: number, len: number, affinity: number, flags = 0): void {
    if (this.closed) {
      target.fail(seq, 'PEER_ERR_NOT_CONNECTED');
      return;
    }
    const link = this.links[(affinity >>> 0) % this.links.length];
    if (link.state === 'down') {
      if (link.downSince !== 0) {
        // Down and waiting to reconnect: fail fast rather than queue behind a dead socket.
        target.fail(seq, 'PEER_ERR_NOT_CONNECTED');
        return;
      }
      link.open().catch(() => undefined);
    }
    this.hooks.onRequest?.(this, len);
    link.send(type, target, seq, off, len, flags, performance.now());
  }

  /**
   * Sends a one-way dnode message (gossip: GOSSIP_SYN 7, GOSSIP_SHUTDOWN 13) carrying `payload` on
   * link 0, written and flushed now; the peer answers nothing. False (nothing sent) when link 0 is not
   * connected or the peer is closed.
   */
  sendOneWay(type: number, payload: Buffer): boolean {
    if (this.closed) return false;
    return this.links[0]!.sendOneWay(type, payload);
  }

  /** Requests sent and not yet answered, over all links. */
  inflight(): number {
    let n = 0;
    for (const l of this.links) n += l.inflight;
    return n;
  }

  /** Closes every link (in-flight requests fail with PEER_ERR_NOT_CONNECTED); send() fails fast after. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links) l.close();
  }

  /** @internal */
  linkUp(link: PeerSocket): void {
    this.log.info({ peer: this.name, link: link.index }, 'peer connected');
    this.hooks.onLinkUp?.(this, link.index);
  }

  /** @internal */
  linkDown(link: PeerSocket, why: string, eof: boolean): void {
    if (this.closed) return;
    if (eof) this.hooks.onEof?.(this);
    else this.hooks.onError?.(this, why);
    this.hooks.onLinkDown?.(this, link.index, why);
    this.log.warn({ peer: this.name, link: link.index, why }, 'peer connection down');
    if (link.downSince === 0) link.downSince = Date.now();
    this.scheduleReconnect(link);
  }

  private scheduleReconnect(link: PeerSocket): void {
    if (this.closed || link.reconnectTimer) return;
    const delay = link.backoff;
    link.backoff = Math.min(BACKOFF_MAX_MS, delay * 2);
    const t = setTimeout(() => {
      link.reconnectTimer = undefined;
      if (!this.closed) link.open().catch(() => undefined); // a failure schedules the next attempt
    }, delay);
    t.unref();
    link.reconnectTimer = t;
  }

  private checkTimeouts(): void {
    const now = performance.now();
    for (const l of this.links) l.checkTimeouts(now);
  }
}
