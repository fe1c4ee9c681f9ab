import { type LongDouble, addLongDouble, formatLongDoubleHuman, parseLongDouble } from './longdouble.js';

// Number parsing and formatting with Redis 7.0's exact acceptance rules and output text.
//
// Integers are int64 in Redis. JS numbers are exact only up to 2^53, so parsing returns a number
// when the value is safe and a bigint beyond; arithmetic falls back to bigint only when needed.

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export type Int64 = number | bigint;

/**
 * Redis `string2ll`: optional '-', then digits with no leading zero (except "0" alone), no '+', no
 * spaces, value within int64. Returns null when the text is not such an integer.
 */
export function parseInt64(b: Buffer): Int64 | null {
  const len = b.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    neg = true;
    i = 1;
    if (len === 1) return null;
  }
  const first = b[i]!;
  if (first === 0x30) return len === 1 ? 0 : null;
  if (first < 0x31 || first > 0x39) return null;
  if (len - i <= 15) {
    let v = 0;
    for (; i < len; i++) {
      const c = b[i]! - 0x30;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }
  for (let j = i; j < len; j++) if (b[j]! < 0x30 || b[j]! > 0x39) return null;
  const big = BigInt(b.toString('latin1'));
  if (big > INT64_MAX || big < INT64_MIN) return null;
  return normalize(big);
}

/** A bigint becomes a number again when it is exactly representable. */
export function normalize(v: bigint): Int64 {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Parses an int64 and returns it as a (possibly rounded) number: for indexes, counts, offsets. */
export function parseIndex(b: Buffer): number | null {
  const v = parseInt64(b);
  return v === null ? null : Number(v);
}

/** a + b in int64, or null on overflow (Redis checks before adding). */
export function addInt64(a: Int64, b: Int64): Int64 | null {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  const r = BigInt(a) + BigInt(b);
  if (r > INT64_MAX || r < INT64_MIN) return null;
  return normalize(r);
}

/** Redis `ll2string` of an int64, as bytes. */
export function int64Bytes(v: Int64): Buffer {
  return Buffer.from(String(v), 'latin1');
}

const FLOAT_RE = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;
const ZERO_MANTISSA_RE = /^[+-]?[0.]*(?:[eE]|$)/;

/**
 * C `strtod` over the whole buffer, as Redis `getDoubleFromObject` / `string2ld` use it: no leading
 * space, the whole text consumed, no NaN, no overflow to ±HUGE_VAL, no underflow to zero. "inf" and
 * "infinity" are accepted (any case). Hex floats are not (documented deviation).
 */
export function parseDouble(b: Buffer): number | null {
  if (b.length === 0 || b.length > 5 * 1024) return null;
  const s = b.toString('latin1');
  if (!FLOAT_RE.test(s)) return null;
  const lower = s.toLowerCase();
  if (lower.endsWith('nan')) return null;
  if (lower.includes('inf')) return s[0] === '-' ? -Infinity : Infinity;
  const v = Number(s);
  if (!Number.isFinite(v)) return null; // ERANGE overflow
  if (v === 0 && !ZERO_MANTISSA_RE.test(s)) return null; // ERANGE underflow to zero
  return v;
}

/**
 * The `zslParseRange` flavour: strtod that tolerates leading whitespace and an empty string (0), but
 * must consume everything after it and must not be NaN.
 */
export function parseRangeDouble(s: string): number | null {
  const t = s.replace(/^[ \t\n\v\f\r]+/, '');
  if (t === '') return 0;
  if (!FLOAT_RE.test(t)) return null;
  const lower = t.toLowerCase();
  if (lower.endsWith('nan')) return null;
  if (lower.includes('inf')) return t[0] === '-' ? -Infinity : Infinity;
  return Number(t);
}

/** C `printf("%.17g", d)`, which Redis 7.0 `addReplyDouble` uses, with "inf"/"-inf". */
export function formatDouble(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  if (Number.isInteger(d) && Math.abs(d) < 1e17) return String(d);
  const e = d.toExponential(16);
  const ePos = e.indexOf('e');
  const exp = Number(e.slice(ePos + 1));
  if (exp >= -4 && exp < 17) return trimZeros(d.toFixed(16 - exp));
  const mant = trimZeros(e.slice(0, ePos));
  const sign = exp < 0 ? '-' : '+';
  const digits = String(Math.abs(exp)).padStart(2, '0');
  return `${mant}e${sign}${digits}`;
}

function trimZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 0x30) end--;
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  return s.slice(0, end);
}

/**
 * Redis `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` of a long double with trailing zeros removed
 * (INCRBYFLOAT, HINCRBYFLOAT). We compute in doubles, so the value is first rounded to 15
 * significant digits to hide binary noise a long double would not show (0.1 + 0.2 prints "0.3" as
 * in Redis). Documented deviation: results needing more than 15 significant digits may differ in
 * the last digits.
 */
export function formatHumanDouble(d: number): string {
  let r = Number(d.toPrecision(15));
  if (Math.abs(r) < 1e-3) r = Number(r.toFixed(17)); // %.17Lf keeps 17 decimals at most
  if (r === 0) return Object.is(r, -0) || d < 0 ? '-0' : '0';
  return toPlain(String(r));
}

/** Expands JS exponent notation ("1e+25", "1.5e-7") into plain decimal digits. */
function toPlain(s: string): string {
  const ePos = s.indexOf('e');
  if (ePos < 0) return s;
  const neg = s[0] === '-';
  const mant = s.slice(neg ? 1 : 0, ePos);
  const exp = Number(s.slice(ePos + 1));
  const dot = mant.indexOf('.');
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  const intLen = (dot < 0 ? mant.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return (neg ? '-' : '') + out;
}

/**
 * INCRBYFLOAT / HINCRBYFLOAT result text for `cur + by` (both already validated as finite by
 * parseDouble, `sum` their double sum). Redis adds in long double and prints `%.17Lf` trimmed; we
 * emulate that exactly (longdouble.ts) for decimal literals, and fall back to the double
 * approximation for anything else (hex floats).
 */
export function formatFloatSum(curText: Buffer | null, byText: Buffer, sum: number): string {
  const zero: LongDouble = { neg: false, mant: 0n, exp: 0 };
  const c = curText === null ? zero : parseLongDouble(curText.toString('latin1'));
  const b = parseLongDouble(byText.toString('latin1'));
  if (c === null || b === null) return formatHumanDouble(sum);
  return formatLongDoubleHuman(addLongDouble(c, b));
}
