// Exact emulation of the x87 80-bit `long double` arithmetic Redis uses for INCRBYFLOAT and
// HINCRBYFLOAT (strtold, one addition, printf("%.17Lf")), with BigInt. JS doubles alone cannot
// reproduce replies such as "1010.59999999999999998" or "9223372036854775807.5".
//
//   value = (neg ? -1 : 1) * mant * 2^exp      mant: 64-bit significand (top bit set), or 0
//
// Rounding is IEEE round-half-even at 64 significant bits, as the x87 FPU does in its default
// extended-precision mode; the exponent range (±16383) is not modelled (documented limit: results
// beyond ~1e4932 or below ~1e-4951 are not reproduced; Redis rejects them anyway).

export interface LongDouble {
  neg: boolean;
  mant: bigint;
  exp: number;
}

const BITS = 64n;

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** Rounds the positive rational p/q to 64 significant bits (half-even). */
function roundRational(neg: boolean, p: bigint, q: bigint): LongDouble {
  if (p === 0n) return { neg, mant: 0n, exp: 0 };
  // e = floor(log2(p/q))
  let e = bitLength(p) - bitLength(q);
  if (e >= 0 ? p < q << BigInt(e) : p << BigInt(-e) < q) e--;
  const shift = Number(BITS) - 1 - e; // scale so the quotient has 64 integer bits
  const num = shift >= 0 ? p << BigInt(shift) : p;
  const den = shift >= 0 ? q : q << BigInt(-shift);
  let mant = num / den;
  const rem = num - mant * den;
  if (rem * 2n > den || (rem * 2n === den && (mant & 1n) === 1n)) mant++;
  let exp = -shift;
  if (mant >> BITS !== 0n) {
    mant >>= 1n;
    exp++;
  }
  return { neg, mant, exp };
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,5}))?$/;

/** strtold of a plain decimal literal (no inf/nan/hex: callers handle those), or null. */
export function parseLongDouble(s: string): LongDouble | null {
  const g = DECIMAL_RE.exec(s);
  if (g === null) return null;
  const int = g[2]!;
  const frac = g[3] ?? '';
  if (int === '' && frac === '') return null;
  const digits = BigInt(int + frac || '0');
  const e10 = Number(g[4] ?? '0') - frac.length;
  if (Math.abs(e10) > 5000) return null;
  const neg = g[1] === '-';
  if (e10 >= 0) return roundRational(neg, digits * 10n ** BigInt(e10), 1n);
  return roundRational(neg, digits, 10n ** BigInt(-e10));
}

/** a + b, rounded once to long double. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  const lo = Math.min(a.exp, b.exp);
  const av = (a.neg ? -a.mant : a.mant) << BigInt(a.exp - lo);
  const bv = (b.neg ? -b.mant : b.mant) << BigInt(b.exp - lo);
  const sum = av + bv;
  const neg = sum < 0n;
  const abs = neg ? -sum : sum;
  if (lo >= 0) return roundRational(neg, abs << BigInt(lo), 1n);
  return roundRational(neg, abs, 1n << BigInt(-lo));
}

/** printf("%.17Lf") with trailing zeros (and a bare '.') removed, "-0" printed as "0" (ld2string). */
export function formatLongDoubleHuman(v: LongDouble): string {
  let scaled: bigint; // round(|v| * 10^17), half-even on the exact binary value
  if (v.exp >= 0) scaled = (v.mant << BigInt(v.exp)) * 10n ** 17n;
  else {
    const den = 1n << BigInt(-v.exp);
    const num = v.mant * 10n ** 17n;
    scaled = num / den;
    const rem = num - scaled * den;
    if (rem * 2n > den || (rem * 2n === den && (scaled & 1n) === 1n)) scaled++;
  }
  const text = scaled.toString().padStart(18, '0');
  let s = `${text.slice(0, -17)}.${text.slice(-17)}`.replace(/0+$/, '').replace(/\.$/, '');
  if (v.neg && s !== '0') s = `-${s}`;
  return s;
}
