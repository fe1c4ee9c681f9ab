// Decodes the arguments of one framed request into Buffers. Only paths that need every argument use
// it (the embedded datastore, re-encoding inline commands); forwarding never decodes.

/** Arguments of a multibulk request at u8[off, off+len) (already validated by the framer). */
export function decodeMultibulk(u8: Uint8Array, off: number, len: number): Buffer[] {
  const end = off + len;
  let p = off + 1;
  let argc = 0;
  while (u8[p] !== 13) argc = argc * 10 + (u8[p++] - 48);
  p += 2;
  const args = new Array<Buffer>(argc);
  for (let i = 0; i < argc && p < end; i++) {
    p++; // '$'
    let n = 0;
    while (u8[p] !== 13) n = n * 10 + (u8[p++] - 48);
    p += 2;
    args[i] = Buffer.from(u8.subarray(p, p + n));
    p += n + 2;
  }
  return args;
}

const HEX = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

/**
 * Arguments of an inline request (one line), split as Redis's sdssplitargs does: spaces separate,
 * "double quotes" take \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' take \'. Returns null for
 * unbalanced quotes (the framer already rejects those).
 */
export function decodeInline(u8: Uint8Array, off: number, len: number): Buffer[] | null {
  let end = off + len;
  if (end > off && u8[end - 1] === 10) end--;
  if (end > off && u8[end - 1] === 13) end--;
  const args: Buffer[] = [];
  let p = off;
  const cur: number[] = [];
  while (p < end) {
    while (p < end && isSpace(u8[p])) p++;
    if (p >= end) break;
    cur.length = 0;
    let inDq = false;
    let inSq = false;
    for (;;) {
      if (p >= end) {
        if (inDq || inSq) return null;
        break;
      }
      const c = u8[p];
      if (inDq) {
        if (c === 92 && p + 3 < end && u8[p + 1] === 120 && HEX(u8[p + 2]) >= 0 && HEX(u8[p + 3]) >= 0) {
          cur.push(HEX(u8[p + 2]) * 16 + HEX(u8[p + 3]));
          p += 4;
          continue;
        }
        if (c === 92 && p + 1 < end) {
          const e = u8[p + 1];
          cur.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
          p += 2;
          continue;
        }
        if (c === 34) {
          if (p + 1 < end && !isSpace(u8[p + 1])) return null; // closing quote must end the arg
          p++;
          break;
        }
        cur.push(c);
        p++;
      } else if (inSq) {
        if (c === 92 && p + 1 < end && u8[p + 1] === 39) {
          cur.push(39);
          p += 2;
          continue;
        }
        if (c === 39) {
          if (p + 1 < end && !isSpace(u8[p + 1])) return null;
          p++;
          break;
        }
        cur.push(c);
        p++;
      } else {
        if (isSpace(c)) break;
        if (c === 34 && cur.length === 0) inDq = true;
        else if (c === 39 && cur.length === 0) inSq = true;
        else cur.push(c);
        p++;
      }
    }
    args.push(Buffer.from(cur));
  }
  return args;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
}

/** Encodes arguments as a RESP multibulk request. */
export function encodeMultibulk(args: readonly Buffer[]): Buffer {
  let size = 1 + digits(args.length) + 2;
  for (const a of args) size += 1 + digits(a.length) + 2 + a.length + 2;
  const out = Buffer.allocUnsafe(size);
  let p = out.write(`*${args.length}\r\n`, 0, 'latin1');
  for (const a of args) {
    p += out.write(`$${a.length}\r\n`, p, 'latin1');
    p += a.copy(out, p);
    out[p++] = 13;
    out[p++] = 10;
  }
  return out;
}

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length;
}
