// Vector distances as RediSearch defines them: L2 is the squared Euclidean distance, IP is
// 1 - dot(a, b), COSINE is 1 - cos(a, b). FLAT search is exact over every stored vector.
import type { FieldDef } from './schema.js';
import { err } from './errors.js';

export type Metric = 'L2' | 'IP' | 'COSINE';

export function vectorDistance(metric: Metric, a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (metric === 'L2') {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = a[i]! - b[i]!;
      s += d * d;
    }
    return s;
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (metric === 'IP') return 1 - dot;
  const denom = Math.sqrt(na) * Math.sqrt(nb);
  return denom === 0 ? 1 : 1 - dot / denom;
}

/** A query blob ($param) as numbers; its byte length must match the field's TYPE and DIM. */
export function decodeQueryVector(blob: Buffer, f: FieldDef): Float64Array {
  const p = f.vector!;
  const width = p.type === 'FLOAT32' ? 4 : 8;
  if (blob.length !== p.dim * width) {
    throw err(`Error parsing vector similarity query: query vector blob size (${blob.length}) does not match index's expected size (${p.dim * width}).`);
  }
  const out = new Float64Array(p.dim);
  for (let i = 0; i < p.dim; i++) out[i] = width === 4 ? blob.readFloatLE(i * 4) : blob.readDoubleLE(i * 8);
  return out;
}
