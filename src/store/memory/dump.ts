// DUMP / RESTORE payloads: our own serialization (Redis RDB payloads are not accepted, nor would
// Redis accept ours), laid out like Redis' so the version/checksum check is the same idea.
//
//   ┌──────┬───────────────────────────┬─────────────┬──────────────────────┐
//   │ type │ body (per type, below)    │ version u16 │ checksum u64 (2×FNV) │
//   │  u8  │                           │  LE = 1     │ over type..version   │
//   └──────┴───────────────────────────┴─────────────┴──────────────────────┘
//   string: raw bytes                   list/set: u32 n, n × (u32 len, bytes)
//   hash:   u32 n, n × (field, value)   zset:     u32 n, n × (u32 len, bytes, f64 score)
import { Deque } from './deque.js';
import { T_HASH, T_LIST, T_SET, T_STRING, T_ZSET, type Entry, type Value } from './keyspace.js';
import { ZSet } from './skiplist.js';

const DUMP_VERSION = 1;

class Writer {
  parts: Buffer[] = [];
  u32(n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n);
    this.parts.push(b);
  }
  bytes(b: Buffer): void {
    this.u32(b.length);
    this.parts.push(b);
  }
  latin1(s: string): void {
    this.bytes(Buffer.from(s, 'latin1'));
  }
  f64(d: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(d);
    this.parts.push(b);
  }
}

function checksum(b: Buffer, end: number): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < end; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ b[i]!, 0x01000193) >>> 0;
    h2 = ((h2 << 5) | (h2 >>> 27)) >>> 0;
  }
  return [h1, h2];
}

export function dumpValue(e: Entry): Buffer {
  const w = new Writer();
  w.parts.push(Buffer.from([e.type]));
  switch (e.type) {
    case T_STRING:
      w.parts.push(e.value as Buffer);
      break;
    case T_LIST: {
      const d = e.value as Deque;
      w.u32(d.length);
      for (let i = 0; i < d.length; i++) w.bytes(d.get(i));
      break;
    }
    case T_HASH: {
      const h = e.value as Map<string, Buffer>;
      w.u32(h.size);
      for (const [f, v] of h) {
        w.latin1(f);
        w.bytes(v);
      }
      break;
    }
    case T_SET: {
      const s = e.value as Set<string>;
      w.u32(s.size);
      for (const m of s) w.latin1(m);
      break;
    }
    default: {
      const z = e.value as ZSet;
      w.u32(z.size);
      for (let n = z.first(); n !== null; n = n.forward[0] ?? null) {
        w.latin1(n.member);
        w.f64(n.score);
      }
    }
  }
  const trailer = Buffer.allocUnsafe(10);
  trailer.writeUInt16LE(DUMP_VERSION, 0);
  w.parts.push(trailer);
  const out = Buffer.concat(w.parts);
  const [h1, h2] = checksum(out, out.length - 8);
  out.writeUInt32LE(h1, out.length - 8);
  out.writeUInt32LE(h2, out.length - 4);
  return out;
}

/** Whether the payload carries our version and an intact checksum. */
export function verifyPayload(p: Buffer): boolean {
  if (p.length < 11) return false;
  if (p.readUInt16LE(p.length - 10) !== DUMP_VERSION) return false;
  const [h1, h2] = checksum(p, p.length - 8);
  return p.readUInt32LE(p.length - 8) === h1 && p.readUInt32LE(p.length - 4) === h2;
}

/** Decodes a verified payload into [type, value], or null when the body is malformed. */
export function loadValue(p: Buffer): [number, Value] | null {
  const end = p.length - 10;
  const type = p[0]!;
  let pos = 1;
  const need = (n: number): boolean => pos + n <= end;
  const u32 = (): number => {
    const v = p.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  const bytes = (): Buffer | null => {
    if (!need(4)) return null;
    const len = u32();
    if (!need(len)) return null;
    const b = Buffer.from(p.subarray(pos, pos + len));
    pos += len;
    return b;
  };
  if (type === T_STRING) return [type, Buffer.from(p.subarray(1, end))];
  if (!need(4)) return null;
  const n = u32();
  if (type === T_LIST) {
    const d = new Deque(n);
    for (let i = 0; i < n; i++) {
      const b = bytes();
      if (b === null) return null;
      d.pushBack(b);
    }
    return pos === end && n > 0 ? [type, d] : null;
  }
  if (type === T_HASH) {
    const h = new Map<string, Buffer>();
    for (let i = 0; i < n; i++) {
      const f = bytes();
      const v = bytes();
      if (f === null || v === null) return null;
      h.set(f.toString('latin1'), v);
    }
    return pos === end && n > 0 ? [type, h] : null;
  }
  if (type === T_SET) {
    const s = new Set<string>();
    for (let i = 0; i < n; i++) {
      const m = bytes();
      if (m === null) return null;
      s.add(m.toString('latin1'));
    }
    return pos === end && n > 0 ? [type, s] : null;
  }
  if (type === T_ZSET) {
    const z = new ZSet();
    for (let i = 0; i < n; i++) {
      const m = bytes();
      if (m === null || !need(8)) return null;
      const score = p.readDoubleLE(pos);
      pos += 8;
      if (Number.isNaN(score)) return null;
      z.set(m.toString('latin1'), score);
    }
    return pos === end && n > 0 ? [type, z] : null;
  }
  return null;
}

/** A deep copy of a value (COPY). */
export function cloneValue(type: number, v: Value): Value {
  switch (type) {
    case T_STRING:
      return Buffer.from(v as Buffer);
    case T_LIST: {
      const d = new Deque((v as Deque).length);
      for (const b of (v as Deque).toArray()) d.pushBack(Buffer.from(b));
      return d;
    }
    case T_HASH:
      return new Map(v as Map<string, Buffer>);
    case T_SET:
      return new Set(v as Set<string>);
    default: {
      const z = new ZSet();
      for (const [m, s] of (v as ZSet).dict) z.set(m, s);
      return z;
    }
  }
}
