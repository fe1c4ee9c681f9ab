// The inbound dnode transport: Netflix's dyn_listen. Peers connect here and send REQ (3: run on our
// datastore) and REQ_FORWARD (4: a remote DC's write to relay to our racks); each gets one RES (5)
// back with the request's msg_id, in request order, as Netflix's dnode client connection does.
//
//   socket 'data' ─► Framer('dnode') ─► onFrames: copy the dnode records, then for each message
//        ├─ REQ / REQ_FORWARD ─► frame its payload in place (one RESP / memcached request)
//        │      └─ handler.onPeerRequest(conn, seq, type, req, sameDc)  ···  conn.complete(seq)
//        ├─ gossip / crypto / debug ─► handler.onOther(conn, type, msgId, payload copy)
//        └─ encrypted (flags bit 0) ─► first: unwrap the AES key from the data field (our RSA key);
//           decrypt the payload over its ciphertext in core memory (plaintext is always shorter),
//           one AES stream per mbuf_size - 48 bytes of ciphertext as Netflix cuts it, then handle
//           it as above; the connection is secured from then on
//   replies ─► ordered queue ─► "   $2014$ <id> 5 0 1 <same_dc> *1 d *<len>\r\n" + reply ─► OutBuffer
//           (secured connection: "<id> 5 1 1 <same_dc> *1 d *<len>" + AES(reply), one stream per
//           mbuf_size - 64 bytes of reply, as Netflix does)
//
// A malformed stream (bad header after the magic, oversized message) closes that connection only.
// Garbage before a magic is skipped (the framer resyncs) and logged.
import type { Logger } from 'pino';
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { Framer, FramingError, type FrameSink } from '../wasm/framer.js';
import { type DynErrorCode, mcError, respError, respErrorText } from '../errors.js';
import type { FramedRequest, PeerRequestType, ReplyTarget } from '../dispatch/request.js';
import type { Flushable, Flusher } from '../net/flusher.js';
import { OutBuffer } from '../net/out-buffer.js';
import { ReplyQueue, type ReplyQueueOwner } from '../net/reply-queue.js';
import { requestError } from '../net/request-error.js';
import { NumberFifo } from '../net/fifo.js';
import { DnodeRecords } from '../wasm/dnode.js';
import { DNODE_HEADER_MAX, writeDnodeHeader } from '../protocol/dnode.js';
import { aesChunking, aesCipherLength, aesEncryptTo, decryptRecordInPlace, DnodeCryptoError, encryptedHeader, type AesChunking, type DnodeKeys } from '../crypto/dnode-crypto.js';
import { TCP_TRANSPORT, type LinkSocket, type PeerTransport } from '../net/transport.js';

/** The peer connection a request came in on: answer its slot through complete / completeBuffer / fail. */
export interface PeerRequestSource extends ReplyTarget {
  /** Connection number, unique per listener. */
  readonly id: number;
  /** `ip:port` of the peer's socket. */
  readonly remote: string;
}

export interface DnodeHandler {
  /**
   * A REQ (3) or REQ_FORWARD (4). `req` describes the payload (one complete datastore request framed in
   * place: req.rec indexes its record in core.i32, offsets relative to req.base); read it before
   * returning. Answer slot `seq` exactly once, now or later, through conn.
   */
  onPeerRequest(conn: PeerRequestSource, seq: number, type: PeerRequestType, req: FramedRequest, sameDc: boolean): void;
  /** Any other message type (gossip 7-13, crypto 6, debug 1, stray RES 5 ...). The payload is a copy. */
  onOther?(conn: PeerRequestSource, type: number, msgId: bigint, payload: Buffer): void;
}

export interface DnodeListenerOptions {
  core: Core;
  listen: { host: string; port: number };
  /** Where peer links come from. @default TCP */
  transport?: PeerTransport;
  flusher: Flusher;
  logger: Logger;
  handler: DnodeHandler;
  /** Largest dnode message (header + payload) accepted. */
  maxMessage: number;
  /** The datastore protocol inside the payloads. @default 'redis' */
  protocol?: 'redis' | 'memcache';
  /** Pause reading a connection above this many unanswered requests. @default 1024 */
  maxPending?: number;
  /**
   * Bytes of garbage (no magic) tolerated between two messages before the connection is closed. The
   * framer resyncs on the magic as Netflix's does; a peer that only sends noise is cut off. @default 65536
   */
  maxGarbage?: number;
  /** The node's RSA keys (pem_key_file): needed to accept encrypted messages. Without it they close the connection. */
  crypto?: DnodeKeys;
  /** Netflix mbuf_size: how encrypted payloads are cut into AES streams. @default 16384 */
  mbufSize?: number;
}

export interface DnodeListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Open peer connections. */
  connections(): number;
  /** Stops listening and closes every connection (unanswered requests are dropped). */
  close(): Promise<void>;
}

/** Pause reading while the socket holds more unsent bytes than this. */
const HIGH_WATER = 8 * 1024 * 1024;

interface Shared {
  readonly opts: DnodeListenerOptions;
  readonly records: DnodeRecords;
  readonly maxPending: number;
  readonly maxGarbage: number;
  readonly conns: Set<DnodePeerConn>;
  readonly aes: AesChunking;
}

/** One accepted peer connection. */
class DnodePeerConn implements FrameSink, PeerRequestSource, Flushable, ReplyQueueOwner {
  flushQueued = false;
  readonly remote: string;
  private readonly framer: Framer;
  /** A second framer slot, never fed: the payloads are framed on it in place. */
  private readonly payloadFramer: Framer;
  private readonly out: OutBuffer;
  /** Replies, written in request order, each as a RES. */
  private readonly replies = new ReplyQueue(this);
  /** Per pending slot: msg_id halves and same_dc to echo, and whether a reply goes back at all. */
  private readonly idLo = new NumberFifo(64);
  private readonly idHi = new NumberFifo(64);
  private readonly sameDc = new NumberFifo(64);
  private readonly wantReply = new NumberFifo(64);
  /** Per pending slot: 1 when its reply goes out encrypted. */
  private readonly encrypt = new NumberFifo(64);
  /** The AES key the peer sent; set once the connection is secured (Netflix: sticky per connection). */
  private aesKey: Buffer | undefined;
  private paused = false;
  private closed = false;
  /** Bytes read, and bytes accounted for by framed messages and the garbage skipped before them. */
  private received = 0;
  private accounted = 0;
  private readonly header = Buffer.allocUnsafe(DNODE_HEADER_MAX);
  private readonly req: FramedRequest = { off: 0, len: 0, rec: 0, base: 0, expectReply: true, inline: false };

  constructor(
    readonly socket: LinkSocket,
    private readonly sh: Shared,
    readonly id: number,
  ) {
    const o = sh.opts;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.framer = new Framer(o.core, 'dnode', o.maxMessage);
    this.payloadFramer = new Framer(o.core, o.protocol === 'memcache' ? 'mc-request' : 'resp-request', o.maxMessage);
    this.out = new OutBuffer(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  get pending(): number {
    return this.replies.pending;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.received += chunk.length;
    try {
      this.framer.feed(chunk, this);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.abort(`malformed dnode stream: ${err.reason} at byte ${err.position}`);
      return;
    }
    if (this.closed) return;
    // What is neither framed nor held as a partial message was skipped as garbage since the last one.
    const garbage = this.received - this.accounted - this.framer.pendingBytes;
    if (garbage > this.sh.maxGarbage) {
      this.abort(`no dnode message in ${garbage} bytes (not a dnode peer?)`);
      return;
    }
    this.sh.opts.flusher.mark(this);
    if (!this.paused && (this.pending > this.sh.maxPending || this.socket.writableLength > HIGH_WATER)) {
      this.paused = true;
      this.socket.pause();
    }
  }

  onFrames(_f: Framer, base: number, count: number): void {
    const core = this.sh.opts.core;
    const recs = this.sh.records;
    // Payload framing below reuses the record table: copy the records first. The Framer read its
    // RESULT block before calling us (test/framer.test.ts), so that needs no saving.
    recs.copy(base, count);
    for (let i = 0; i < count && !this.closed; i++) {
      this.accounted += recs.skipped[i] + recs.len[i];
      if (recs.skipped[i] > 0) {
        this.sh.opts.logger.warn({ peer: this.remote, bytes: recs.skipped[i] }, 'skipped garbage before a dnode message');
      }
      if ((recs.flags[i] & ABI.DN_FLAG_ENCRYPTED) !== 0 && !this.decryptInPlace(i)) break;
      const type = recs.type[i];
      if (type === ABI.DN_TYPE_REQ || type === ABI.DN_TYPE_REQ_FORWARD) this.request(i, type);
      else this.sh.opts.handler.onOther?.(this, type, recs.msgIdBig(i), recs.payloadCopy(i));
    }
  }

  /**
   * Replaces record i's ciphertext by its plaintext, in place (PKCS#7 makes the plaintext 1..16
   * bytes shorter, so it fits and touches no other message), and shortens the record. False (and
   * the connection closed) when it cannot be decrypted.
   */
  private decryptInPlace(i: number): boolean {
    const recs = this.sh.records;
    try {
      this.aesKey = decryptRecordInPlace(recs, i, this.sh.opts.crypto, this.aesKey, this.sh.aes);
    } catch (err) {
      if (!(err instanceof DnodeCryptoError)) throw err;
      this.abort(`undecryptable dnode message: ${err.message}`);
      return false;
    }
    return true;
  }

  /** Frames the payload of dnode record i as one datastore request and hands it to the handler. */
  private request(i: number, type: PeerRequestType): void {
    const o = this.sh.opts;
    const core = o.core;
    const recs = this.sh.records;
    const seq = this.replies.open();
    this.idLo.push(recs.idLo[i]);
    this.idHi.push(recs.idHi[i]);
    this.sameDc.push(recs.sameDc[i]);
    this.encrypt.push(this.aesKey !== undefined ? 1 : 0);
    const at = recs.payloadAt[i];
    const len = recs.payloadLen[i];
    const slot = this.payloadFramer.slot;
    const n = o.protocol === 'memcache'
      ? core.exports.mcFrameRequests(slot, at, len)
      : core.exports.respFrameRequests(slot, at, len);
    const consumed = core.i32[(core.resPtr + ABI.RES_CONSUMED) >> 2];
    const r = core.recPtr >> 2;
    if (n !== 1 || consumed !== len || core.i32[r + ABI.REC_ARGC] === 0) {
      // Not exactly one request: answer this slot with an error; the dnode stream itself is fine.
      core.exports.connReset(slot, o.protocol === 'memcache' ? ABI.FRAMER_MC_REQ : ABI.FRAMER_RESP_REQ);
      this.wantReply.push(1);
      o.logger.warn({ peer: this.remote, msgId: recs.msgIdBig(i).toString(), records: n }, 'dnode payload is not one request');
      this.completeBuffer(seq, this.errorText('Protocol error: dnode payload is not exactly one request'));
      return;
    }
    const flags = core.i32[r + ABI.REC_FLAGS];
    const expectReply = (flags & ABI.MF_NOREPLY) === 0;
    this.wantReply.push(expectReply ? 1 : 0);
    const err = core.i32[r + ABI.REC_ERR];
    if (err !== ABI.ERR_NONE) {
      this.completeBuffer(seq, this.requestError(err, r, at));
      return;
    }
    const req = this.req;
    req.off = at + core.i32[r + ABI.REC_START];
    req.len = core.i32[r + ABI.REC_LEN];
    req.rec = r;
    req.base = at;
    req.expectReply = expectReply;
    req.inline = (flags & ABI.MF_INLINE) !== 0;
    o.handler.onPeerRequest(this, seq, type, req, recs.sameDc[i] !== 0);
  }

  private errorText(text: string): Buffer {
    return this.sh.opts.protocol === 'memcache' ? Buffer.from(`SERVER_ERROR ${text}\r\n`) : respErrorText(text);
  }

  /** The reply for a request the payload framer flagged (unknown command, arity ...). */
  private requestError(err: number, r: number, base: number): Buffer {
    return requestError(this.sh.opts.protocol ?? 'redis', this.sh.opts.core, err, r, base);
  }

  // ---- ReplyTarget: replies leave in request order ----

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    if (!this.closed) this.replies.complete(seq, src, off, len);
  }

  completeBuffer(seq: number, b: Buffer): void {
    if (!this.closed) this.replies.completeBuffer(seq, b);
  }

  fail(seq: number, code: DynErrorCode): void {
    this.completeBuffer(seq, this.sh.opts.protocol === 'memcache' ? mcError(code) : respError(code));
  }

  // ---- ReplyQueueOwner: called by this.replies only ----

  /** Writes the RES for the head slot (nothing for a noreply request). */
  writeReply(src: Uint8Array, off: number, len: number): void {
    if (this.wantReply.peek() === 0) return;
    const h = this.header;
    const id = (this.idHi.peek() >>> 0) * 4294967296 + (this.idLo.peek() >>> 0);
    if (this.encrypt.peek() !== 0) {
      this.writeEncryptedReply(src, off, len);
      return;
    }
    let n: number;
    if (id < 2 ** 53) {
      n = writeDnodeHeader(h, 0, id, ABI.DN_TYPE_RES, this.sameDc.peek(), len);
    } else {
      // A 64-bit id from a peer (never Netflix's in practice): slow exact path.
      const big = (BigInt(this.idHi.peek() >>> 0) << 32n) | BigInt(this.idLo.peek() >>> 0);
      n = h.write(`   $2014$ ${big} 5 0 1 ${this.sameDc.peek()} *1 d *${len}\r\n`, 0, 'latin1');
    }
    this.out.append(h, 0, n);
    if (len > 0) this.out.append(src, off, len);
  }

  /** A reply on a secured connection: flags 1, data `*1 d`, payload AES'd with the peer's key. */
  private writeEncryptedReply(src: Uint8Array, off: number, len: number): void {
    const id = (BigInt(this.idHi.peek() >>> 0) << 32n) | BigInt(this.idLo.peek() >>> 0);
    this.out.appendBuffer(encryptedHeader(id, ABI.DN_TYPE_RES, this.sameDc.peek(), undefined, aesCipherLength(len, this.sh.aes)));
    aesEncryptTo(this.aesKey!, src.subarray(off, off + len), this.sh.aes, this.out);
  }

  releaseHead(): boolean {
    this.encrypt.shift();
    this.idLo.shift();
    this.idHi.shift();
    this.sameDc.shift();
    this.wantReply.shift();
    return true;
  }

  repliesWritten(): void {
    this.sh.opts.flusher.mark(this);
    if (this.paused) this.maybeResume();
  }

  private maybeResume(): void {
    if (this.paused && !this.closed && this.pending < this.sh.maxPending / 2 && this.socket.writableLength < HIGH_WATER / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  flush(): void {
    if (!this.closed) this.out.flush();
  }

  /** Closes this connection after a protocol problem, with a log line naming the peer. */
  private abort(why: string): void {
    this.sh.opts.logger.warn({ peer: this.remote, why }, 'closing dnode peer connection');
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.framer.close();
    this.payloadFramer.close();
    this.out.reset();
    this.replies.clear();
    this.sh.conns.delete(this);
  }
}


/** Listens for peer connections on opts.listen; resolves once bound. */
export async function startDnodeListener(opts: DnodeListenerOptions): Promise<DnodeListener> {
  const sh: Shared = {
    opts,
    records: new DnodeRecords(opts.core),
    maxPending: opts.maxPending ?? 1024,
    maxGarbage: opts.maxGarbage ?? 65536,
    conns: new Set(),
    aes: aesChunking(opts.mbufSize ?? 16384),
  };
  let nextId = 1;
  const bound = await (opts.transport ?? TCP_TRANSPORT).listen(opts.listen, (socket) => {
    const c = new DnodePeerConn(socket, sh, nextId++);
    sh.conns.add(c);
  }, (err) => opts.logger.error({ err: err.message }, 'dnode listener error'));
  const port = bound.port;
  opts.logger.info({ host: opts.listen.host, port }, 'dnode listener started');
  return {
    port,
    connections: () => sh.conns.size,
    close: async () => {
      for (const c of [...sh.conns]) c.destroy();
      await bound.close();
    },
  };
}
