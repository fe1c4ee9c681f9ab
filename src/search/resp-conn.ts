// A small RESP2 client connection for the search layer's own traffic to the local redis (HGETALL,
// SCAN, CONFIG, DEL, and the keyspace-notification subscriber). Not on the proxy's request path.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export type RespValue = Buffer | number | null | RespError | RespValue[];

export class RespError {
  constructor(readonly message: string) {}
}

/** Parses one RESP2 value at buf[pos]; returns [value, next] or undefined when incomplete. */
export function parseResp(buf: Buffer, pos: number): [RespValue, number] | undefined {
  if (pos >= buf.length) return undefined;
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const t = buf[pos];
  const line = buf.toString('latin1', pos + 1, eol);
  const next = eol + 2;
  switch (t) {
    case 0x2b: return [Buffer.from(line, 'latin1'), next];
    case 0x2d: return [new RespError(line), next];
    case 0x3a: return [Number(line), next];
    case 0x24: {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (next + n + 2 > buf.length) return undefined;
      return [buf.subarray(next, next + n), next + n + 2];
    }
    case 0x2a: {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseResp(buf, p);
        if (r === undefined) return undefined;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      throw new Error(`bad RESP type byte ${t}`);
  }
}

export function encodeCommand(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RespConn {
  private socket: Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (v: RespValue) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  /** Push messages (pub/sub) that do not answer a command. */
  onPush: ((v: RespValue[]) => void) | undefined;
  onClose: (() => void) | undefined;
  /** Replies in subscribe mode arrive as arrays; this tells which ones are pushes. */
  subscriber = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly password?: string,
    /** TLS to the datastore (datastore_tls). */
    private readonly tls?: () => ConnectionOptions,
  ) {}

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const ready = (): void => {
        s.off('error', reject);
        resolve();
      };
      const tls = this.tls?.();
      const s: Socket = tls ? tlsConnect({ ...tls, host: this.host, port: this.port }, ready) : connect({ host: this.host, port: this.port }, ready);
      s.once('error', reject);
      s.setNoDelay(true);
      s.on('data', (d) => this.onData(d));
      s.on('error', () => undefined);
      s.on('close', () => this.onSocketClose());
      this.socket = s;
    });
    if (this.password) {
      const r = await this.call(['AUTH', this.password]);
      if (r instanceof RespError) throw new Error(r.message);
    }
  }

  private onSocketClose(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error('connection closed'));
    this.onClose?.();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let pos = 0;
    for (;;) {
      const r = parseResp(this.buf, pos);
      if (r === undefined) break;
      pos = r[1];
      const v = r[0];
      if (this.subscriber && Array.isArray(v) && v.length >= 3 && Buffer.isBuffer(v[0])) {
        const kind = v[0].toString('latin1');
        if (kind === 'pmessage' || kind === 'message') {
          this.onPush?.(v);
          continue;
        }
      }
      this.waiting.shift()?.resolve(v);
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  call(args: (string | Buffer)[]): Promise<RespValue> {
    if (this.closed || !this.socket) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket!.write(encodeCommand(args));
    });
  }

  /** Sends many commands in one write; resolves with every reply in order. */
  pipeline(cmds: (string | Buffer)[][]): Promise<RespValue[]> {
    if (this.closed || !this.socket) return Promise.reject(new Error('connection closed'));
    const ps = cmds.map(
      () => new Promise<RespValue>((resolve, reject) => this.waiting.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(cmds.map(encodeCommand)));
    return Promise.all(ps);
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}
