// Reply bytes the JS side builds or reads back, for both client protocols, defined once. The core
// frames replies; these helpers only split or read the few replies the proxy itself merges
// (fragmented multi-key requests) or inspects (read repair). Our own error replies are built in
// src/errors.ts.

/** `+OK\r\n`. */
export const REPLY_OK = Buffer.from('+OK\r\n', 'latin1');
/** Memcached `END\r\n` (closes a get reply). */
export const MC_END = Buffer.from('END\r\n', 'latin1');
/** The reply of a request that expects none (memcached noreply): nothing is written. */
export const NO_REPLY = Buffer.alloc(0);

const MC_VALUE = Buffer.from('VALUE ', 'latin1');

/** The encoded elements of a RESP array reply (bulk strings, nils, integers, nested arrays). */
export function arrayElements(b: Buffer): Buffer[] {
  let p = b.indexOf(13);
  const n = Number(b.toString('latin1', 1, p));
  p += 2;
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const end = skipReply(b, p);
    out.push(b.subarray(p, end));
    p = end;
  }
  return out;
}

function skipReply(b: Buffer, p: number): number {
  const eol = b.indexOf(13, p);
  const t = b[p];
  if (t === 36 /* $ */) {
    const n = Number(b.toString('latin1', p + 1, eol));
    return n < 0 ? eol + 2 : eol + 2 + n + 2;
  }
  if (t === 42 /* * */) {
    const n = Number(b.toString('latin1', p + 1, eol));
    let q = eol + 2;
    for (let i = 0; i < n; i++) q = skipReply(b, q);
    return q;
  }
  return eol + 2;
}

/** The VALUE items of a memcached get reply (each through its data's CRLF), without END. */
export function mcItems(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p < b.length && b.subarray(p, p + 6).equals(MC_VALUE)) {
    const eol = b.indexOf('\r\n', p);
    const fields = b.toString('latin1', p, eol).split(' ');
    const bytes = Number(fields[3]);
    const end = eol + 2 + bytes + 2;
    out.push(b.subarray(p, end));
    p = end;
  }
  return out;
}

/** `:<n>\r\n` as a number, else undefined. */
export function integerReply(b: Buffer): number | undefined {
  if (b.length < 4 || b[0] !== 58 /* : */ || b[b.length - 2] !== 13) return undefined;
  const v = Number(b.toString('latin1', 1, b.length - 2));
  return Number.isSafeInteger(v) ? v : undefined;
}

/** The payload of a bulk reply (a view), null for nil (`$-1`), undefined when not a bulk reply. */
export function bulkReply(b: Buffer): Buffer | null | undefined {
  if (b.length < 5 || b[0] !== 36 /* $ */) return undefined;
  const eol = b.indexOf(13);
  if (eol < 2) return undefined;
  const n = Number(b.toString('latin1', 1, eol));
  if (n === -1) return null;
  if (!Number.isSafeInteger(n) || n < 0 || eol + 2 + n + 2 !== b.length) return undefined;
  return b.subarray(eol + 2, eol + 2 + n);
}
