// A client's transaction (MULTI / EXEC / DISCARD / WATCH / UNWATCH), kept by its connection.
//
// The node queues the commands itself and answers +QUEUED; nothing reaches the datastore before
// EXEC. At EXEC the whole transaction leaves as one block, MULTI + the commands + EXEC, written at
// once to one connection of each replica's datastore (TxDispatch.exec): no other client's command
// can come between them on that connection, Redis runs EXEC's commands as one unit, and the client
// gets EXEC's reply. A command refused while queueing (unknown, wrong arity, not allowed in a
// transaction, keys of another owner) is answered with its error and makes EXEC answer EXECABORT:
// then nothing was sent anywhere, so nothing is applied.
//
// WATCH is connection state in Redis, so a client that WATCHes gets a datastore connection of its
// own (BlockBackend.pin) from WATCH to EXEC / DISCARD / UNWATCH / RESET / close, and every request
// it sends meanwhile goes through that connection, in order. A client that does not WATCH needs
// none: its block goes on its usual shared connection.
//
//   outside MULTI: WATCH k ─► pin + WATCH on it    MULTI ─► +OK, queueing
//   queueing:      cmd ─► admit? ─► +QUEUED (kept) | its error (dirty)
//                  EXEC ─► dirty? -EXECABORT : block ─► EXEC's reply (RESP3: converted per command)
//                  DISCARD ─► +OK, dropped, unpinned
import type { DynErrorCode } from '../errors.js';
import type { ReplyTarget } from '../dispatch/request.js';
import type { TxRoute } from '../dispatch/dispatcher.js';
import { arrayElements } from '../protocol/replies.js';
import { toResp3 } from '../protocol/resp3.js';

export const MULTI_REQUEST = Buffer.from('*1\r\n$5\r\nMULTI\r\n', 'latin1');
export const EXEC_REQUEST = Buffer.from('*1\r\n$4\r\nEXEC\r\n', 'latin1');
export const QUEUED = Buffer.from('+QUEUED\r\n', 'latin1');
export const EXECABORT = Buffer.from('-EXECABORT Transaction discarded because of previous errors.\r\n', 'latin1');
export const EXEC_WITHOUT_MULTI = Buffer.from('-ERR EXEC without MULTI\r\n', 'latin1');
export const DISCARD_WITHOUT_MULTI = Buffer.from('-ERR DISCARD without MULTI\r\n', 'latin1');
export const MULTI_NESTED = Buffer.from('-ERR MULTI calls can not be nested\r\n', 'latin1');
export const WATCH_IN_MULTI = Buffer.from('-ERR WATCH inside MULTI is not allowed\r\n', 'latin1');
/** Redis's words for a command flagged no-multi; we say which command and why. */
export function notInTransaction(name: string, why: string): string {
  return `ERR Command not allowed inside a transaction: '${name.toLowerCase()}' ${why}`;
}

export class Transaction {
  /** Between MULTI and EXEC / DISCARD. */
  multi = false;
  /** A command was refused while queueing: EXEC answers EXECABORT. */
  dirty = false;
  /** WATCH was sent: the client holds a reserved datastore connection. */
  watching = false;
  /** The queued commands, each a complete RESP multibulk request. */
  readonly commands: Buffer[] = [];
  /** RESP3 shape (RS.*) of each queued command's reply. */
  readonly shapes: number[] = [];
  /** Any queued command is a write (the write consistency level applies). */
  isWrite = false;
  readonly route: TxRoute = { token: 0, keyed: false };

  /** EXEC or DISCARD: back to no transaction (the WATCH too: EXEC and DISCARD end it in Redis). */
  end(): void {
    this.multi = false;
    this.dirty = false;
    this.watching = false;
    this.commands.length = 0;
    this.shapes.length = 0;
    this.isWrite = false;
    this.route.keyed = false;
    this.route.token = 0;
  }

  /** The block EXEC sends: MULTI, the queued commands, EXEC. */
  block(): Buffer[] {
    return [MULTI_REQUEST, ...this.commands, EXEC_REQUEST];
  }
}

/**
 * EXEC's reply for a RESP3 client: each element of the array converted by its own command's shape
 * (HGETALL's a map, ZSCORE's a double ...), a WATCH failure's nil array as `_`.
 */
export function execReplyResp3(reply: Buffer, shapes: readonly number[]): Buffer {
  if (reply.length < 4 || reply[0] !== 42 /* * */) return reply;
  if (reply[1] === 45 /* - */) return Buffer.from('_\r\n', 'latin1');
  const elements = arrayElements(reply);
  const out: Buffer[] = [Buffer.from(`*${elements.length}\r\n`, 'latin1')];
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i]!;
    out.push(Buffer.from(toResp3(e, 0, e.length, shapes[i] ?? 0)));
  }
  return Buffer.concat(out);
}

/** Receives EXEC's reply for a RESP3 client and converts it before it reaches the client's slot. */
export class Resp3ExecTarget implements ReplyTarget {
  constructor(
    private readonly conn: ReplyTarget,
    private readonly shapes: readonly number[],
  ) {}

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    this.conn.completeBuffer(seq, execReplyResp3(Buffer.from(src.subarray(off, off + len)), this.shapes));
  }

  completeBuffer(seq: number, b: Buffer): void {
    this.conn.completeBuffer(seq, execReplyResp3(b, this.shapes));
  }

  fail(seq: number, code: DynErrorCode): void {
    this.conn.fail(seq, code);
  }
}
