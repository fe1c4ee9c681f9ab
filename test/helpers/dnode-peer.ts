// Test helpers for the dnode transport: a raw TCP peer that writes exact bytes and reads dnode
// messages back, reply collectors implementing ReplyTarget, handlers for the listener.
import { createServer, type Server, type Socket } from 'node:net';
import type { Core } from '../../src/wasm/core.js';
import type { DynErrorCode } from '../../src/errors.js';
import type { Backend, FramedRequest, ReplyTarget } from '../../src/dispatch/request.js';
import type { DnodeHandler, PeerRequestSource } from '../../src/cluster/dnode-listener.js';
import { decodeDnode } from '../oracles/dnode.js';
import { RawSocket } from './raw-socket.js';

export type Outcome = { ok: true; data: Buffer } | { ok: false; code: DynErrorCode };

/** A ReplyTarget that records what each slot got and resolves when `expected` slots are answered. */
export class Collector implements ReplyTarget {
  readonly got = new Map<number, Outcome>();
  readonly order: number[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  duplicate = false;

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    this.record(seq, { ok: true, data: Buffer.from(src.subarray(off, off + len)) });
  }

  completeBuffer(seq: number, b: Buffer): void {
    this.record(seq, { ok: true, data: Buffer.from(b) });
  }

  fail(seq: number, code: DynErrorCode): void {
    this.record(seq, { ok: false, code });
  }

  private record(seq: number, o: Outcome): void {
    if (this.got.has(seq)) this.duplicate = true;
    this.got.set(seq, o);
    this.order.push(seq);
    this.waiters = this.waiters.filter((w) => {
      if (this.got.size < w.n) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once n slots are answered; rejects after timeoutMs. */
  waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.got.size >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${this.got.size}/${n} replies after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
    });
  }

  text(seq: number): string {
    const o = this.got.get(seq);
    if (!o) return '<none>';
    return o.ok ? o.data.toString('latin1') : `FAIL ${o.code}`;
  }
}

/** A listener handler that runs every request on a Backend (e.g. MemoryBackend), counting types. */
export class BackendHandler implements DnodeHandler {
  readonly types: number[] = [];
  readonly sameDc: boolean[] = [];
  readonly others: { type: number; msgId: bigint; payload: Buffer }[] = [];

  constructor(private readonly backend: Backend) {}

  onPeerRequest(conn: PeerRequestSource, seq: number, type: 3 | 4, req: FramedRequest, sameDc: boolean): void {
    this.types.push(type);
    this.sameDc.push(sameDc);
    this.backend.forward(conn, seq, req, conn.id);
  }

  onOther(_conn: PeerRequestSource, type: number, msgId: bigint, payload: Buffer): void {
    this.others.push({ type, msgId, payload });
  }
}

/** A handler that holds every request; the test answers them (in any order) or never. */
export class HoldingHandler implements DnodeHandler {
  readonly held: { conn: PeerRequestSource; seq: number; request: string }[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(private readonly core: Core) {}

  onPeerRequest(conn: PeerRequestSource, seq: number, _type: 3 | 4, req: FramedRequest): void {
    this.held.push({ conn, seq, request: this.core.buf.toString('latin1', req.off, req.off + req.len) });
    this.waiters = this.waiters.filter((w) => {
      if (this.held.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.held.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${this.held.length}/${n} requests held`)), timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
    });
  }
}

/** A raw TCP peer: writes exact bytes, reads until a predicate holds or the socket closes. */
export class RawPeer extends RawSocket {
  static connect(port: number): Promise<RawPeer> {
    return RawSocket.open(port, (s) => new RawPeer(s));
  }

  write(b: Buffer | string): void {
    this.socket.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
  }

  /** Waits until `bytes` bytes arrived (or close / timeout); returns what arrived, as latin1. */
  async read(bytes: number, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < bytes && !this.closed && Date.now() < deadline) {
      await this.nextEvent(deadline);
    }
    return this.buf.toString('latin1');
  }

  /** Resolves true once the socket is closed by the other side, false after timeoutMs. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await this.nextEvent(deadline);
    }
    return this.closed;
  }
}

/** A fake peer node for PeerConn tests: a TCP server whose answer to each chunk the test decides. */
export async function fakePeerServer(onData: (s: Socket, d: Buffer) => void): Promise<{ server: Server; port: number; sockets: Set<Socket>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => onData(s, d));
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    server,
    port,
    sockets,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A RESP multibulk request. */
export function resp(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** A dnode message as Netflix writes it. */
export function dnodeMessage(msgId: number | bigint, type: number, payload: Buffer | string, opts: { flags?: number; sameDc?: number } = {}): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const head = `   $2014$ ${msgId} ${type} ${opts.flags ?? 0} 1 ${opts.sameDc ?? 1} *1 d *${p.length}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), p]);
}

/** A dnode request a ScriptedDnodePeer received: which accepted connection (0, 1, ...) and its fields. */
export interface SeenRequest {
  conn: number;
  msgId: bigint;
  type: number;
  payload: Buffer;
  /** Writes a RES with this request's msg_id and `payload` on the connection it came on. */
  reply(payload: Buffer | string): void;
}

/**
 * A fake peer node speaking dnode: frames the requests of every connection it accepts (the
 * reference decoder of test/oracles/dnode.ts), records them, and hands each to `onRequest`, which
 * answers it (req.reply), skips it (does nothing) or answers later. Counts accepted connections.
 */
export class ScriptedDnodePeer {
  readonly requests: SeenRequest[] = [];
  /** Connections accepted since start. */
  accepted = 0;
  readonly sockets: Socket[] = [];
  port = 0;
  private constructor(private readonly server: Server, public onRequest: (req: SeenRequest) => void) {}

  static async start(onRequest: (req: SeenRequest) => void): Promise<ScriptedDnodePeer> {
    const server = createServer();
    const peer = new ScriptedDnodePeer(server, onRequest);
    server.on('connection', (s) => peer.accept(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const a = server.address();
    peer.port = typeof a === 'object' && a ? a.port : 0;
    return peer;
  }

  /** Writes raw bytes on accepted connection `conn`. */
  write(conn: number, b: Buffer | string): void {
    this.sockets[conn]!.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
  }

  /** Connections still open. */
  get open(): number {
    return this.sockets.filter((s) => !s.destroyed).length;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(s: Socket): void {
    const conn = this.accepted++;
    this.sockets.push(s);
    let buf: Buffer = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const r = decodeDnode(buf);
      if (r.error) {
        s.destroy(new Error(`fake peer: undecodable dnode stream at byte ${r.error.pos}`));
        return;
      }
      const seen = r.frames.map((f): SeenRequest => ({
        conn,
        msgId: f.msgId,
        type: f.type,
        payload: Buffer.from(buf.subarray(f.payloadOff, f.payloadOff + f.payloadLen)),
        reply: (p) => s.write(dnodeMessage(f.msgId, 5, p)),
      }));
      buf = buf.subarray(r.consumed);
      for (const q of seen) {
        this.requests.push(q);
        this.onRequest(q);
      }
    });
  }
}
