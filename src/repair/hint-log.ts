// The durable side of hinted handoff: one append-only file of hint records per peer
// (`<hints_dir>/<host>_<port>.hints`), loaded at start-up, compacted when delivered hints pile up.
//
//   record (24-byte header, little-endian, then the request bytes):
//   ┌────────────┬──────┬───────┬──────┬──────────────────┬───────────┬───────────┬──────────────┐
//   │ magic u32  │ type │ flags │ 0 0  │ time f64 (ms,    │ len u32   │ crc32 u32 │ payload      │
//   │ "HNT1"     │ u8   │ u8    │ u16  │ Date.now() epoch)│ (payload) │ (payload) │ (len bytes)  │
//   └────────────┴──────┴───────┴──────┴──────────────────┴───────────┴───────────┴──────────────┘
//    0            4      5       6      8                  16          20          24
//
// Crash consistency (what a reader of the file may rely on):
//   - A hint is appended (one writev) before HintStore.add returns; the files are fsync'd once a
//     second when dirty (Redis `appendfsync everysec`). A process crash loses no stored hint (the
//     bytes are in the page cache); an OS crash or power loss loses at most about a second of them.
//   - A torn or corrupt tail (short header, bad magic, short payload, crc mismatch) ends the load:
//     the records before it are kept and the file is truncated at the first bad byte.
//   - Delivered and dropped hints are not erased one by one: the file is emptied when the peer's
//     queue drains, and rewritten (tmp file, fsync, rename: atomic) when its dead bytes exceed
//     max(1 MiB, live bytes). A crash in between replays already-delivered hints at the next start:
//     delivery is at-least-once, in order.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { PeerRequestType } from '../dispatch/request.js';
import { ABI } from '../wasm/abi.js';

export const HINT_RECORD_HEADER = 24;
const MAGIC = 0x31544e48; // "HNT1" read as a little-endian u32

/** One hint as the file holds it. */
export interface HintRecord {
  type: PeerRequestType;
  flags: number;
  /** When the write arrived (ms since the epoch): the TTL counts from here, across restarts. */
  at: number;
  bytes: Buffer;
}

/** The file name of a peer's hints: `host_port.hints`, with anything unsafe in a name replaced. */
export function hintFileName(host: string, port: number): string {
  return `${host.replace(/[^A-Za-z0-9.-]/g, '_')}_${port}.hints`;
}

/** Encodes one record's header. */
export function encodeHintHeader(r: HintRecord, into: Buffer = Buffer.allocUnsafe(HINT_RECORD_HEADER)): Buffer {
  into.writeUInt32LE(MAGIC, 0);
  into[4] = r.type;
  into[5] = r.flags;
  into.writeUInt16LE(0, 6);
  into.writeDoubleLE(r.at, 8);
  into.writeUInt32LE(r.bytes.length, 16);
  into.writeUInt32LE(crc32(r.bytes), 20);
  return into;
}

/** Decodes every valid record of a file image; `end` is where the valid prefix stops. */
export function decodeHintRecords(buf: Buffer): { records: HintRecord[]; end: number } {
  const records: HintRecord[] = [];
  let p = 0;
  while (p + HINT_RECORD_HEADER <= buf.length) {
    if (buf.readUInt32LE(p) !== MAGIC) break;
    const type = buf[p + 4];
    if (type !== ABI.DN_TYPE_REQ && type !== ABI.DN_TYPE_REQ_FORWARD) break;
    const len = buf.readUInt32LE(p + 16);
    const start = p + HINT_RECORD_HEADER;
    if (start + len > buf.length) break;
    const bytes = Buffer.from(buf.subarray(start, start + len));
    if (crc32(bytes) !== buf.readUInt32LE(p + 20)) break;
    records.push({ type, flags: buf[p + 5]!, at: buf.readDoubleLE(p + 8), bytes });
    p = start + len;
  }
  return { records, end: p };
}

/** Rewrite when dead bytes exceed this much and the live bytes. */
const COMPACT_MIN_DEAD = 1 << 20;

/** A peer's hint file. Every method is synchronous and throws on I/O errors (the caller logs). */
export class HintLog {
  readonly path: string;
  private fd = -1;
  private dirty = false;
  private readonly header = Buffer.allocUnsafe(HINT_RECORD_HEADER);
  /** Bytes in the file of records still queued / already delivered or dropped. */
  liveBytes = 0;
  deadBytes = 0;

  constructor(readonly dir: string, fileName: string) {
    this.path = join(dir, fileName);
  }

  /** Reads the file's records (none when it does not exist) and cuts off a torn tail. */
  load(): HintRecord[] {
    if (!existsSync(this.path)) return [];
    const buf = readFileSync(this.path);
    const { records, end } = decodeHintRecords(buf);
    if (end < buf.length) {
      this.open();
      ftruncateSync(this.fd, end);
      fsyncSync(this.fd);
    }
    this.liveBytes = end;
    this.deadBytes = 0;
    return records;
  }

  append(r: HintRecord): void {
    this.open();
    encodeHintHeader(r, this.header);
    const n = writevSync(this.fd, [this.header, r.bytes]);
    const want = HINT_RECORD_HEADER + r.bytes.length;
    if (n !== want) {
      // A short write (disk full): the file now ends in a torn record, which the next load cuts off.
      throw new Error(`hint file ${this.path}: wrote ${n} of ${want} bytes`);
    }
    this.liveBytes += want;
    this.dirty = true;
  }

  /** A record of `payload` bytes left the queue (delivered or dropped). */
  retire(payload: number): void {
    const n = HINT_RECORD_HEADER + payload;
    this.liveBytes -= n;
    this.deadBytes += n;
  }

  /** fsync when something was appended since the last one. */
  sync(): void {
    if (!this.dirty || this.fd < 0) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  get needsCompaction(): boolean {
    return this.deadBytes > 0 && (this.liveBytes === 0 || this.deadBytes > Math.max(COMPACT_MIN_DEAD, this.liveBytes));
  }

  /** Leaves exactly `pending` in the file: truncation when empty, else tmp + fsync + rename. */
  compact(pending: readonly HintRecord[]): void {
    if (pending.length === 0) {
      if (this.fd < 0 && !existsSync(this.path)) return;
      this.open();
      ftruncateSync(this.fd, 0);
      fsyncSync(this.fd);
      this.liveBytes = 0;
      this.deadBytes = 0;
      this.dirty = false;
      return;
    }
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    let live = 0;
    try {
      for (const r of pending) {
        writeSync(fd, encodeHintHeader(r));
        writeSync(fd, r.bytes);
        live += HINT_RECORD_HEADER + r.bytes.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.closeFd();
    renameSync(tmp, this.path);
    this.liveBytes = live;
    this.deadBytes = 0;
    this.dirty = false;
  }

  close(): void {
    if (this.fd < 0) return;
    this.sync();
    this.closeFd();
  }

  private open(): void {
    if (this.fd >= 0) return;
    mkdirSync(this.dir, { recursive: true });
    this.fd = openSync(this.path, 'a');
  }

  private closeFd(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
