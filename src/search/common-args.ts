// Arguments FT.SEARCH and FT.AGGREGATE share, parsed once with RediSearch's error wording.
import { err } from './errors.js';

/** The value after DIALECT: an integer 1..4. */
export function parseDialect(value: string | undefined): number {
  const d = Number(value);
  if (!Number.isInteger(d) || d < 1 || d > 4) throw err('DIALECT requires a non negative integer >=1 and <= 4');
  return d;
}

/** `count` words from `start` as NAME VALUE pairs into `into` (values kept as the client's bytes). */
export function readParams(args: string[], raw: Buffer[], start: number, count: number, into: Map<string, Buffer>): void {
  if (count % 2 !== 0) throw err('Parameters must be specified in PARAM VALUE pairs');
  for (let k = 0; k < count; k += 2) into.set(args[start + k]!, raw[start + k + 1]!);
}
