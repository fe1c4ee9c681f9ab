// The durable write journal: `<hints_dir>/write-journal.log`, so a restarted node keeps its
// tombstones and clocks (a DEL it applied is still known when an older hint or an anti-entropy
// pass offers the deleted key back).
//
//   record (16-byte header, little-endian, then the key):
//   ┌──────┬────────┬────────────┬───────────┬──────────────┬──────────┐
//   │ kind │ hinted │ keylen u16 │ token u32 │ ts f64 (ms)  │ key      │
//   │ u8   │ u8     │            │           │              │ (keylen) │
//   └──────┴────────┴────────────┴───────────┴──────────────┴──────────┘
//    kind: 0 clock, 1 tombstone, 2 key forgotten (a reverted write), 3 flushed-at (ts = flush time),
//          4 closed cleanly, 5 floorMs (ts)
//
// Decisions:
//   - Appends are buffered in memory and written once per `flushMs` (1 s) when dirty, with a
//     flushed-at record: no I/O on the request path. A crash loses at most the writes of the last
//     period; a restarted node therefore raises its floor to the last flushed-at + flushMs (a hint
//     older than that is applied only if its key's entry survived; else it is skipped and counted,
//     and anti-entropy converges the key). A clean close writes everything and a closed record: no
//     floor raise.
//   - The per-key floors (512 KiB) go to `write-journal.floors` at compaction and close.
//   - Compaction (tmp file, fsync, rename) rewrites the live entries when the file holds more
//     than twice their count (and at least 100k records).
//   - A torn tail (short record) ends the load; the records before it are kept.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KeyClock, WriteJournal } from './write-journal.js';
import { recordedByHint } from './write-journal.js';

export const JOURNAL_FILE = 'write-journal.log';
export const FLOORS_FILE = 'write-journal.floors';
const HEADER = 16;
const K_CLOCK = 0, K_TOMB = 1, K_GONE = 2, K_FLUSHED = 3, K_CLOSED = 4, K_FLOOR = 5;
const COMPACT_MIN = 100_000;
/** Keys longer than a u16 are not persisted (their entries live in memory only). */
const MAX_KEY = 0xffff;

export interface JournalLogOptions {
  dir: string;
  /** Buffered records are written this often, ms. @default 1000 */
  flushMs?: number;
  logger?: Logger;
  now?: () => number;
}

export class JournalLog {
  readonly path: string;
  private fd: number;
  private pending: Buffer[] = [];
  private records = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushMs: number;
  private readonly now: () => number;
  private closed = false;

  /** Opens (creating) the log in dir, loads it into `journal`, compacts it, starts the flush timer. */
  constructor(private readonly journal: WriteJournal, private readonly o: JournalLogOptions) {
    this.flushMs = o.flushMs ?? 1000;
    this.now = o.now ?? Date.now;
    mkdirSync(o.dir, { recursive: true });
    this.path = join(o.dir, JOURNAL_FILE);
    this.load();
    this.fd = -1;
    this.compact();
    journal.onRecord = (k, c) => this.append(k, c);
    this.timer = setInterval(() => this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Writes what is buffered (with a flushed-at record); the timer calls it. */
  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    this.pending.push(encode(K_FLUSHED, '', this.now(), 0, false));
    this.writeOut();
  }

  /** Writes everything, the floors and a closed record, fsyncs, and stops appending. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.pending.push(encode(K_FLOOR, '', this.journal.floorMs, 0, false), encode(K_CLOSED, '', this.now(), 0, false));
    this.writeOut();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.writeFloors();
    this.journal.onRecord = undefined;
    this.closed = true;
  }

  private append(k: string, c: KeyClock | undefined): void {
    if (k.length > MAX_KEY) return this.tooLong();
    this.pending.push(c === undefined ? encode(K_GONE, k, 0, 0, false) : encode(c.deleted ? K_TOMB : K_CLOCK, k, c.ts, c.token, recordedByHint(c)));
    this.records++;
  }

  private warnedLong = false;

  private tooLong(): void {
    // The key's entry stays in memory; after a restart the key's floor covers it (unclean) or not.
    if (!this.warnedLong) this.o.logger?.warn({ file: this.path }, 'write journal: keys over 65535 bytes are not persisted');
    this.warnedLong = true;
  }

  private writeOut(): void {
    const b = Buffer.concat(this.pending);
    this.pending = [];
    try {
      writeSync(this.fd, b);
    } catch (err) {
      this.o.logger?.warn({ err, file: this.path }, 'write journal: appending to the journal file failed');
    }
    const live = this.journal.size + this.journal.tombstones;
    if (this.records > COMPACT_MIN && this.records > 2 * live) this.compact();
  }

  /** Rewrites the file with the live entries (tmp, fsync, rename) and reopens it for appends. */
  private compact(): void {
    const j = this.journal;
    const parts: Buffer[] = [encode(K_FLOOR, '', j.floorMs, 0, false)];
    for (const [k, c] of j.entries()) if (k.length <= MAX_KEY) parts.push(encode(c.deleted ? K_TOMB : K_CLOCK, k, c.ts, c.token, recordedByHint(c)));
    parts.push(encode(K_FLUSHED, '', this.now(), 0, false));
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, Buffer.concat(parts));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.records = parts.length;
    this.writeFloors();
  }

  private writeFloors(): void {
    try {
      const f = this.journal.floorsSnapshot();
      writeFileSync(join(this.o.dir, FLOORS_FILE), Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    } catch (err) {
      this.o.logger?.warn({ err, dir: this.o.dir }, 'write journal: writing the floors file failed');
    }
  }

  private load(): void {
    if (!existsSync(this.path)) return;
    const buf = readFileSync(this.path);
    const j = this.journal;
    let p = 0;
    let flushedAt = 0;
    let clean = false;
    let floor = 0;
    let n = 0;
    while (p + HEADER <= buf.length) {
      const kind = buf[p]!;
      const len = buf.readUInt16LE(p + 2);
      if (p + HEADER + len > buf.length || kind > K_FLOOR) break;
      const ts = buf.readDoubleLE(p + 8);
      const key = buf.toString('latin1', p + HEADER, p + HEADER + len);
      clean = kind === K_CLOSED;
      if (kind === K_CLOCK || kind === K_TOMB) {
        j.recordName(key, ts, kind === K_TOMB, buf.readUInt32LE(p + 4), buf[p + 1] === 1);
        n++;
      } else if (kind === K_GONE) j.forgetName(key);
      else if (kind === K_FLUSHED) flushedAt = ts;
      else if (kind === K_FLOOR) floor = Math.max(floor, ts);
      p += HEADER + len;
    }
    // Without the floors file every key's floor is the global one: safe, less precise.
    if (j.loadFloors(join(this.o.dir, FLOORS_FILE))) j.raiseGlobalFloor(floor);
    else j.raiseFloor(floor);
    // Writes of the last period before a crash may be missing: nothing newer than this is forgotten.
    if (!clean && flushedAt > 0) j.raiseFloor(flushedAt + this.flushMs);
    this.o.logger?.info({ file: this.path, entries: n, clean, floorMs: j.floorMs }, 'write journal: loaded');
  }
}

function encode(kind: number, key: string, ts: number, token: number, hinted: boolean): Buffer {
  const len = Buffer.byteLength(key, 'latin1');
  const b = Buffer.allocUnsafe(HEADER + len);
  b[0] = kind;
  b[1] = hinted ? 1 : 0;
  b.writeUInt16LE(len, 2);
  b.writeUInt32LE(token >>> 0, 4);
  b.writeDoubleLE(ts, 8);
  b.write(key, HEADER, 'latin1');
  return b;
}
