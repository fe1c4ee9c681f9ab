// RESP3 for clients that said `HELLO 3`. Datastores behind the proxy and the peers (Netflix nodes
// included) always answer RESP2, and coalescing compares replicas' RESP2 bytes, so conversion
// happens once, at the client connection, just before a reply is written: one place for the
// single-node, embedded and cluster paths. It is driven by the reply shape of the command (the
// SH_* column of the command table, refined by the request's arguments where Redis's reply depends
// on them, see resolveShape in src/net/conn-shapes.ts). RESP2 connections never come here.
//
// Also the builder for replies the node makes itself (HELLO, CLIENT, COMMAND, CONFIG GET, INFO),
// which writes either protocol.
import { ABI } from '../wasm/abi.js';

/** Shapes resolved for one request: the table's SH_* values plus the ones below. */
export const RS = {
  PLAIN: ABI.SH_PLAIN,
  MAP: ABI.SH_MAP,
  SET: ABI.SH_SET,
  DOUBLE: ABI.SH_DOUBLE,
  DOUBLES: ABI.SH_DOUBLES,
  VERBATIM: ABI.SH_VERBATIM,
  ZMPOP: ABI.SH_ZMPOP,
  GEO: ABI.SH_GEO,
  /** Flat [m, s, m, s ...] -> [[m, double] ...]. */
  PAIRS_DOUBLE: 100,
  /** Flat [f, v, f, v ...] -> [[f, v] ...]. */
  PAIRS: 101,
  /** [m, s] -> [m, double] (ZPOPMIN without a count). */
  MEMBER_DOUBLE: 102,
  /** Array of flat arrays -> array of maps (XINFO GROUPS / CONSUMERS). */
  ARRAY_OF_MAPS: 103,
  /** Already in the connection's protocol (made by the node): written as is. */
  NATIVE: 104,
  /** Not written at all (CLIENT REPLY OFF / SKIP). */
  SUPPRESS: 105,
} as const;

// A RESP2 reply parsed: Line = simple string, error or integer (its type byte and text), Buffer =
// bulk string (a view into the source), null = nil bulk or nil array, array = multibulk.
class Line {
  constructor(readonly type: number, readonly text: Buffer) {}
}
type V = Line | Buffer | null | V[];

const CR = 13;

class Parser {
  p = 0;
  constructor(private readonly b: Buffer) {}

  private line(): Buffer {
    const start = this.p;
    let i = start;
    while (this.b[i] !== CR) i++;
    this.p = i + 2;
    return this.b.subarray(start, i);
  }

  private int(text: Buffer): number {
    return Number(text.toString('latin1'));
  }

  value(): V {
    const t = this.b[this.p++];
    const text = this.line();
    if (t === 36 /* $ */) {
      const n = this.int(text);
      if (n < 0) return null;
      const v = this.b.subarray(this.p, this.p + n);
      this.p += n + 2;
      return v;
    }
    if (t === 42 /* * */) {
      const n = this.int(text);
      if (n < 0) return null;
      const a = new Array<V>(n);
      for (let i = 0; i < n; i++) a[i] = this.value();
      return a;
    }
    return new Line(t, text);
  }
}

/** Appends RESP bytes for either protocol; `proto` decides how maps, sets, nils and doubles look. */
export class RespBuilder {
  private parts: Buffer[] = [];
  constructor(readonly proto: 2 | 3) {}

  private raw(s: string): this {
    this.parts.push(Buffer.from(s, 'latin1'));
    return this;
  }

  array(n: number): this { return this.raw(`*${n}\r\n`); }
  /** An out-of-band push (pub/sub): `>` in RESP3, an array in RESP2. */
  push(n: number): this { return this.raw(this.proto === 3 ? `>${n}\r\n` : `*${n}\r\n`); }
  map(n: number): this { return this.raw(this.proto === 3 ? `%${n}\r\n` : `*${n * 2}\r\n`); }
  set(n: number): this { return this.raw(this.proto === 3 ? `~${n}\r\n` : `*${n}\r\n`); }
  nil(): this { return this.raw(this.proto === 3 ? '_\r\n' : '$-1\r\n'); }
  int(n: number): this { return this.raw(`:${n}\r\n`); }
  status(s: string): this { return this.raw(`+${s}\r\n`); }
  error(s: string): this { return this.raw(`-${s.replace(/[\r\n]+/g, ' ')}\r\n`); }
  bool(b: boolean): this { return this.proto === 3 ? this.raw(b ? '#t\r\n' : '#f\r\n') : this.int(b ? 1 : 0); }

  bulk(v: string | Buffer): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.raw(`$${b.length}\r\n`);
    this.parts.push(b, CRLF);
    return this;
  }

  /** Verbatim text (INFO, CLIENT INFO / LIST): `=` with the `txt:` format in RESP3, a bulk in RESP2. */
  verbatim(text: string): this {
    if (this.proto === 2) return this.bulk(text);
    const b = Buffer.from(text, 'utf8');
    this.raw(`=${b.length + 4}\r\ntxt:`);
    this.parts.push(b, CRLF);
    return this;
  }

  /** Bytes already encoded (a reply of the datastore). */
  encoded(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  finish(): Buffer {
    const out = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    return out;
  }
}

const CRLF = Buffer.from('\r\n');

/** A view of the RESP2 reply src[off, off+len) as a Buffer (no copy). */
function view(src: Uint8Array, off: number, len: number): Buffer {
  return Buffer.from(src.buffer, src.byteOffset + off, len);
}

/** True when a RESP2 reply reads the same in RESP3: a status, an error, an integer or a non-nil bulk. */
function sameInResp3(b: Uint8Array, off: number, len: number): boolean {
  const t = b[off];
  if (t === 43 || t === 45 || t === 58) return true; // + - :
  return t === 36 && !(len >= 5 && b[off + 1] === 45); // $ but not $-1
}

/**
 * The RESP3 bytes of the RESP2 reply src[off, off+len) under shape `shape` (RS.*). Returns the
 * same view when nothing changes; the result may point into src: copy it before src is reused.
 */
export function toResp3(src: Uint8Array, off: number, len: number, shape: number): Buffer {
  if (len === 0 || shape === RS.NATIVE) return view(src, off, len);
  const t = src[off];
  if (t === 45 /* - */) return view(src, off, len);
  if (shape === RS.PLAIN && sameInResp3(src, off, len)) return view(src, off, len);
  const v = new Parser(view(src, off, len)).value();
  const w: Buffer[] = [];
  emitShaped(w, v, shape);
  return w.length === 1 ? w[0] : Buffer.concat(w);
}

function emitShaped(w: Buffer[], v: V, shape: number): void {
  if (!Array.isArray(v)) {
    if (v instanceof Buffer) {
      if (shape === RS.DOUBLE || shape === RS.DOUBLES) return emitDouble(w, v);
      if (shape === RS.VERBATIM) {
        w.push(Buffer.from(`=${v.length + 4}\r\ntxt:`, 'latin1'), v, CRLF);
        return;
      }
    }
    return emit(w, v, 0);
  }
  switch (shape) {
    case RS.MAP:
      return emitMap(w, v, 0);
    case RS.SET:
      w.push(Buffer.from(`~${v.length}\r\n`, 'latin1'));
      for (const e of v) emit(w, e, 0);
      return;
    case RS.DOUBLES:
      return emit(w, v, DEEP_DOUBLE);
    case RS.PAIRS_DOUBLE:
      return emitPairs(w, v, true);
    case RS.PAIRS:
      return emitPairs(w, v, false);
    case RS.MEMBER_DOUBLE:
      w.push(head(42, v.length));
      for (let i = 0; i < v.length; i++) emit(w, v[i], i === 1 ? DEEP_DOUBLE : 0);
      return;
    case RS.ARRAY_OF_MAPS:
      w.push(head(42, v.length));
      for (const e of v) {
        if (Array.isArray(e)) emitMap(w, e, 0);
        else emit(w, e, 0);
      }
      return;
    case RS.ZMPOP: {
      // [key, [[member, score] ...]]
      w.push(head(42, v.length));
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        if (i === 1 && Array.isArray(e)) {
          w.push(head(42, e.length));
          for (const pair of e) {
            if (Array.isArray(pair)) {
              w.push(head(42, pair.length));
              for (let j = 0; j < pair.length; j++) emit(w, pair[j], j === 1 ? DEEP_DOUBLE : 0);
            } else emit(w, pair, 0);
          }
        } else emit(w, e, 0);
      }
      return;
    }
    case RS.GEO:
      // Items are a member alone, or [member, dist?, hash?, [lon, lat]?]: the coordinates (the one
      // nested array of an item) are doubles, the distance stays a bulk string (as Redis 7 sends).
      w.push(head(42, v.length));
      for (const item of v) {
        if (!Array.isArray(item)) {
          emit(w, item, 0);
          continue;
        }
        w.push(head(42, item.length));
        for (const f of item) emit(w, f, Array.isArray(f) ? DEEP_DOUBLE : 0);
      }
      return;
    default:
      return emit(w, v, 0);
  }
}

const DEEP_DOUBLE = 1;

function head(type: number, n: number): Buffer {
  return Buffer.from(`${String.fromCharCode(type)}${n}\r\n`, 'latin1');
}

function emitDouble(w: Buffer[], b: Buffer): void {
  w.push(Buffer.from(',', 'latin1'), b, CRLF);
}

function emitMap(w: Buffer[], v: V[], mode: number): void {
  w.push(head(37 /* % */, v.length >> 1));
  for (const e of v) emit(w, e, mode);
}

function emitPairs(w: Buffer[], v: V[], scoreDouble: boolean): void {
  const n = v.length >> 1;
  w.push(head(42, n));
  for (let i = 0; i + 1 < v.length; i += 2) {
    w.push(head(42, 2));
    emit(w, v[i], 0);
    emit(w, v[i + 1], scoreDouble ? DEEP_DOUBLE : 0);
  }
}

/** Writes v in RESP3: nil -> `_`; with DEEP_DOUBLE every bulk inside becomes a double. */
function emit(w: Buffer[], v: V, mode: number): void {
  if (v === null) {
    w.push(NULL3);
  } else if (v instanceof Line) {
    w.push(Buffer.from([v.type]), v.text, CRLF);
  } else if (Array.isArray(v)) {
    w.push(head(42, v.length));
    for (const e of v) emit(w, e, mode);
  } else if (mode === DEEP_DOUBLE) {
    emitDouble(w, v);
  } else {
    w.push(Buffer.from(`$${v.length}\r\n`, 'latin1'), v, CRLF);
  }
}

const NULL3 = Buffer.from('_\r\n');
