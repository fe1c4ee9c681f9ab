// A fast hand-written pure-TypeScript RESP request framer: the "pure-JS variant" that the WASM framer
// (assembly/resp.ts) is benchmarked against in bench/core.ts. It is written the way a careful JS
// port would be, so the comparison is fair to JS:
//
// - one pass over a Uint8Array, jumping over payloads by length (O(tokens), like the WASM framer);
// - no allocation per message: records and keys go into preallocated typed arrays;
// - command lookup by a case-folded hash of the name bytes into a Map, with a one-entry cache of the
//   last name (pipelines repeat the same command), then the command's key plan (first/last/step);
// - the ring token of every key with jsMurmur (bench/js-hash.ts), the default Netflix hash.
//
// Outputs per message (what bench/core.ts checks against the WASM records once at start-up):
// start, len, argc, the key table span [keyFirst, keyFirst + nkeys), and for each key off / len /
// token. It frames well-formed multibulk requests only: it stops at an incomplete message (consumed
// = its start) and returns -1 for anything else (inline commands, bad bytes). It applies the
// arity rule for keys (a message with the wrong arity or an unknown command has no keys), like the
// WASM framer, but none of the limits, nil counts, EVAL numkeys or hash tags: the bench samples
// never need them.
import { jsMurmur } from './js-hash.js';

/** The part of a command the framer needs (a subset of src/wasm/commands.ts CommandInfo). */
export interface FramerCommand {
  readonly name: string;
  readonly arity: number;
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
}

const CR = 13;
const LF = 10;

/** ASCII upper-case letters fold to lower case; every other byte is compared exactly. */
const fold = (b: number): number => (b >= 65 && b <= 90 ? b | 0x20 : b);

function nameHash(buf: Uint8Array, off: number, len: number): number {
  let h = len;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ fold(buf[i]!), 0x01000193);
  return h;
}

interface Entry { cmd: FramerCommand; name: Uint8Array }

export class TsRespFramer {
  // Record table (one entry per framed message) and key table, reused by every call.
  readonly start: Int32Array;
  readonly len: Int32Array;
  readonly argc: Int32Array;
  readonly keyFirst: Int32Array;
  readonly nkeys: Int32Array;
  readonly keyOff: Int32Array;
  readonly keyLen: Int32Array;
  readonly keyToken: Uint32Array;
  /** Results of the last call. */
  count = 0;
  nkey = 0;
  consumed = 0;

  private readonly byHash = new Map<number, Entry[]>();
  // One-entry cache: the bytes of the last name looked up and what it resolved to.
  private readonly lastName = new Uint8Array(32);
  private lastLen = -1;
  private lastCmd: FramerCommand | undefined;

  constructor(commands: readonly FramerCommand[], recCap = 4096, keyCap = 262144) {
    for (const cmd of commands) {
      const name = Buffer.from(cmd.name.toLowerCase(), 'latin1');
      const h = nameHash(name, 0, name.length);
      const list = this.byHash.get(h) ?? [];
      list.push({ cmd, name });
      this.byHash.set(h, list);
    }
    this.start = new Int32Array(recCap);
    this.len = new Int32Array(recCap);
    this.argc = new Int32Array(recCap);
    this.keyFirst = new Int32Array(recCap);
    this.nkeys = new Int32Array(recCap);
    this.keyOff = new Int32Array(keyCap);
    this.keyLen = new Int32Array(keyCap);
    this.keyToken = new Uint32Array(keyCap);
  }

  /** Case-insensitive command lookup of buf[off, off+len); undefined when unknown. */
  lookup(buf: Uint8Array, off: number, len: number): FramerCommand | undefined {
    if (len === this.lastLen) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (buf[off + i] !== this.lastName[i]) { same = false; break; }
      }
      if (same) return this.lastCmd;
    }
    const list = this.byHash.get(nameHash(buf, off, len));
    let found: FramerCommand | undefined;
    if (list !== undefined) {
      for (const e of list) {
        if (e.name.length !== len) continue;
        let i = 0;
        while (i < len && fold(buf[off + i]!) === e.name[i]) i++;
        if (i === len) { found = e.cmd; break; }
      }
    }
    if (len <= 32) {
      this.lastName.set(buf.subarray(off, off + len));
      this.lastLen = len;
      this.lastCmd = found;
    }
    return found;
  }

  /**
   * Frames every complete multibulk request in buf[0, len). Returns the record count, or -1 on
   * anything that is not a well-formed multibulk request.
   */
  frame(buf: Uint8Array, len: number): number {
    let p = 0;
    let count = 0;
    let nkey = 0;
    let done = 0; // end of the last complete message
    const recCap = this.start.length;
    const keyCap = this.keyOff.length;
    outer: while (p < len && count < recCap) {
      const s = p;
      if (buf[p] !== 42) return -1; // '*'
      // element count: [1-9][0-9]* \r\n
      let q = p + 1;
      let argc = 0;
      let c = q < len ? buf[q]! : -1;
      if (c < 49 || c > 57) { if (q >= len) break; return -1; }
      while (q < len && (c = buf[q]!) >= 48 && c <= 57) { argc = argc * 10 + (c - 48); q++; }
      if (q + 1 >= len) break;
      if (c !== CR || buf[q + 1] !== LF) return -1;
      p = q + 2;
      const k0 = nkey;
      let cmd: FramerCommand | undefined;
      let keyNext = -1;
      let keyLast = 0;
      let keyStep = 0;
      for (let i = 0; i < argc; i++) {
        if (p >= len) { nkey = k0; break outer; }
        if (buf[p] !== 36) return -1; // '$'
        q = p + 1;
        let n = 0;
        c = q < len ? buf[q]! : -1;
        if (c < 48 || c > 57) { if (q >= len) { nkey = k0; break outer; } return -1; }
        while (q < len && (c = buf[q]!) >= 48 && c <= 57) { n = n * 10 + (c - 48); q++; }
        if (q + 1 >= len) { nkey = k0; break outer; }
        if (c !== CR || buf[q + 1] !== LF) return -1;
        const off = q + 2;
        const pe = off + n;
        if (pe + 2 > len) { nkey = k0; break outer; }
        if (buf[pe] !== CR || buf[pe + 1] !== LF) return -1;
        p = pe + 2;
        if (i === 0) {
          cmd = this.lookup(buf, off, n);
          if (cmd !== undefined && cmd.step > 0 && cmd.firstKey > 0) {
            const a = cmd.arity;
            if ((a > 0 && argc === a) || (a < 0 && argc >= -a)) {
              let last = cmd.lastKey < 0 ? argc + cmd.lastKey : cmd.lastKey;
              if (last >= argc) last = argc - 1;
              if (cmd.firstKey <= last && nkey + (last - cmd.firstKey) / cmd.step + 1 <= keyCap) {
                keyNext = cmd.firstKey;
                keyLast = last;
                keyStep = cmd.step;
              }
            }
          }
        } else if (i === keyNext) {
          this.keyOff[nkey] = off;
          this.keyLen[nkey] = n;
          this.keyToken[nkey] = jsMurmur(buf, off, n);
          nkey++;
          keyNext = i + keyStep <= keyLast ? i + keyStep : -1;
        }
      }
      this.start[count] = s;
      this.len[count] = p - s;
      this.argc[count] = argc;
      this.keyFirst[count] = k0;
      this.nkeys[count] = nkey - k0;
      count++;
      done = p;
    }
    this.count = count;
    this.nkey = nkey;
    this.consumed = done;
    return count;
  }
}
