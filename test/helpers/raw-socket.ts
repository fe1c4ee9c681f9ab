// The raw-socket part of the tests' clients (RawClient in resp-client.ts, RawPeer in dnode-peer.ts):
// connect to 127.0.0.1, gather every byte that arrives in `buf`, note the close, and let a reader
// sleep until the next of those events or its deadline. What a reader waits for is the subclass's.
import { connect, type Socket } from 'node:net';

export class RawSocket {
  /** Bytes received and not yet taken by a reader. */
  buf: Buffer = Buffer.alloc(0);
  /** The other side closed (or the socket failed). */
  closed = false;
  private waiters: (() => void)[] = [];

  protected constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects to 127.0.0.1:port and wraps the socket with `wrap` once connected. */
  protected static open<T>(port: number, wrap: (s: Socket) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(wrap(s)));
      s.once('error', reject);
    });
  }

  /** Resolves at the next data or close event, or at `deadline` (Date.now() ms), whichever is first. */
  protected nextEvent(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  close(): void {
    this.socket.destroy();
  }
}
