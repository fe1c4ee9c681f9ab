// RediSearch's expression language (FT.CREATE FILTER, FT.AGGREGATE APPLY and FILTER): numbers,
// 'strings' / "strings", @properties, + - * / % ^, comparisons, && || !, and the common functions.
// Values are numbers, strings or null (a missing property).
import { err } from './errors.js';

export type Value = number | string | null;
export type Row = ReadonlyMap<string, Value>;

type Expr =
  | { k: 'num'; v: number }
  | { k: 'str'; v: string }
  | { k: 'prop'; name: string }
  | { k: 'un'; op: string; a: Expr }
  | { k: 'bin'; op: string; a: Expr; b: Expr }
  | { k: 'call'; fn: string; args: Expr[] };

const BIN_PREC: Record<string, number> = {
  '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6, '^': 7,
};

class ExprParser {
  pos = 0;
  constructor(readonly s: string) {}

  fail(): never {
    throw err(`Syntax error at offset ${this.pos} near ${this.s.slice(this.pos, this.pos + 10)}`);
  }

  ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  op(): string | undefined {
    this.ws();
    for (const o of ['||', '&&', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '^']) {
      if (this.s.startsWith(o, this.pos)) return o;
    }
    return undefined;
  }

  expr(minPrec = 1): Expr {
    let a = this.unary();
    for (;;) {
      const o = this.op();
      if (o === undefined) break;
      const p = BIN_PREC[o]!;
      if (p < minPrec) break;
      this.pos += o.length;
      const b = this.expr(o === '^' ? p : p + 1);
      a = { k: 'bin', op: o, a, b };
    }
    return a;
  }

  unary(): Expr {
    this.ws();
    const c = this.s[this.pos];
    if (c === '!') {
      this.pos++;
      return { k: 'un', op: '!', a: this.unary() };
    }
    if (c === '-') {
      this.pos++;
      return { k: 'un', op: '-', a: this.unary() };
    }
    if (c === '+') {
      this.pos++;
      return this.unary();
    }
    if (c === '(') {
      this.pos++;
      const e = this.expr();
      this.ws();
      if (this.s[this.pos] !== ')') this.fail();
      this.pos++;
      return e;
    }
    if (c === '@') {
      this.pos++;
      const m = /^[A-Za-z0-9_.\-:$]+/.exec(this.s.slice(this.pos));
      if (!m) this.fail();
      this.pos += m[0].length;
      return { k: 'prop', name: m[0] };
    }
    if (c === "'" || c === '"') {
      this.pos++;
      let v = '';
      while (this.pos < this.s.length && this.s[this.pos] !== c) {
        if (this.s[this.pos] === '\\' && this.pos + 1 < this.s.length) this.pos++;
        v += this.s[this.pos++];
      }
      if (this.pos >= this.s.length) this.fail();
      this.pos++;
      return { k: 'str', v };
    }
    const num = /^(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf\b)/i.exec(this.s.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return { k: 'num', v: num[0].toLowerCase() === 'inf' ? Infinity : Number(num[0]) };
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    if (id) {
      this.pos += id[0].length;
      this.ws();
      if (this.s[this.pos] !== '(') this.fail();
      this.pos++;
      const args: Expr[] = [];
      this.ws();
      if (this.s[this.pos] === ')') this.pos++;
      else {
        for (;;) {
          args.push(this.expr());
          this.ws();
          if (this.s[this.pos] === ',') {
            this.pos++;
            continue;
          }
          if (this.s[this.pos] === ')') {
            this.pos++;
            break;
          }
          this.fail();
        }
      }
      const fn = id[0].toLowerCase();
      if (!(fn in FUNCS)) throw err(`Unknown function name '${id[0]}'`);
      return { k: 'call', fn, args };
    }
    this.fail();
  }
}

const cache = new Map<string, Expr>();

export function parseExpr(s: string): Expr {
  let e = cache.get(s);
  if (e === undefined) {
    const p = new ExprParser(s);
    e = p.expr();
    p.ws();
    if (p.pos < s.length) p.fail();
    if (cache.size < 1024) cache.set(s, e);
  }
  return e;
}

/** The properties an expression reads (so LOAD can be implied). */
export function exprProps(s: string): string[] {
  const out: string[] = [];
  const walk = (e: Expr): void => {
    if (e.k === 'prop') out.push(e.name);
    else if (e.k === 'un') walk(e.a);
    else if (e.k === 'bin') {
      walk(e.a);
      walk(e.b);
    } else if (e.k === 'call') e.args.forEach(walk);
  };
  walk(parseExpr(s));
  return out;
}

export function toNum(v: Value): number {
  if (typeof v === 'number') return v;
  if (v === null) return NaN;
  const n = Number(v);
  return v.trim() === '' ? NaN : n;
}

export function toStr(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  return formatNumber(v);
}

/** Numbers as RediSearch prints them in rows: %.12g. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (Number.isNaN(n)) return 'nan';
  return fmtG(n, 12);
}

/** C printf %.<p>g. */
export function fmtG(n: number, p: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  const e = Math.floor(Math.log10(Math.abs(n)));
  let s = n.toExponential(p - 1);
  let exp = Number(s.slice(s.indexOf('e') + 1));
  if (exp < -4 || exp >= p) {
    let [m, x] = s.split('e') as [string, string];
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    exp = Number(x);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  void e;
  s = n.toFixed(Math.max(0, p - 1 - exp));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

const truthy = (v: Value): boolean => (typeof v === 'number' ? v !== 0 && !Number.isNaN(v) : v !== null && v.length > 0);

const FUNCS: Record<string, (a: Value[]) => Value> = {
  upper: (a) => (a[0] === null || a[0] === undefined ? null : toStr(a[0]).toUpperCase()),
  lower: (a) => (a[0] === null || a[0] === undefined ? null : toStr(a[0]).toLowerCase()),
  strlen: (a) => toStr(a[0] ?? null).length,
  substr: (a) => {
    const s = toStr(a[0] ?? null);
    const off = toNum(a[1] ?? 0);
    const len = toNum(a[2] ?? -1);
    const start = off < 0 ? Math.max(0, s.length + off) : off;
    return len < 0 ? s.slice(start, s.length + len + 1) : s.slice(start, start + len);
  },
  abs: (a) => Math.abs(toNum(a[0] ?? null)),
  floor: (a) => Math.floor(toNum(a[0] ?? null)),
  ceil: (a) => Math.ceil(toNum(a[0] ?? null)),
  sqrt: (a) => Math.sqrt(toNum(a[0] ?? null)),
  log: (a) => Math.log(toNum(a[0] ?? null)),
  log2: (a) => Math.log2(toNum(a[0] ?? null)),
  exp: (a) => Math.exp(toNum(a[0] ?? null)),
  exists: (a) => (a[0] === null || a[0] === undefined ? 0 : 1),
  contains: (a) => (toStr(a[0] ?? null).includes(toStr(a[1] ?? null)) ? 1 : 0),
  startswith: (a) => (toStr(a[0] ?? null).startsWith(toStr(a[1] ?? null)) ? 1 : 0),
  to_number: (a) => toNum(a[0] ?? null),
  to_str: (a) => toStr(a[0] ?? null),
  format: (a) => {
    let i = 1;
    return toStr(a[0] ?? null).replace(/%s/g, () => toStr(a[i++] ?? null));
  },
};

function evalE(e: Expr, row: Row): Value {
  switch (e.k) {
    case 'num':
      return e.v;
    case 'str':
      return e.v;
    case 'prop': {
      const v = row.get(e.name);
      if (v === undefined) throw err(`Property \`${e.name}\` not loaded nor in schema`);
      return v;
    }
    case 'un': {
      const a = evalE(e.a, row);
      return e.op === '!' ? (truthy(a) ? 0 : 1) : -toNum(a);
    }
    case 'call':
      return FUNCS[e.fn]!(e.args.map((x) => evalE(x, row)));
    case 'bin': {
      const a = evalE(e.a, row);
      if (e.op === '&&') return truthy(a) ? (truthy(evalE(e.b, row)) ? 1 : 0) : 0;
      if (e.op === '||') return truthy(a) ? 1 : truthy(evalE(e.b, row)) ? 1 : 0;
      const b = evalE(e.b, row);
      switch (e.op) {
        case '+': return toNum(a) + toNum(b);
        case '-': return toNum(a) - toNum(b);
        case '*': return toNum(a) * toNum(b);
        case '/': return toNum(a) / toNum(b);
        case '%': return Math.trunc(toNum(a)) % Math.trunc(toNum(b));
        case '^': return Math.pow(toNum(a), toNum(b));
        default: return compare(e.op, a, b) ? 1 : 0;
      }
    }
  }
}

function compare(op: string, a: Value, b: Value): boolean {
  let c: number;
  const na = toNum(a);
  const nb = toNum(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) c = na < nb ? -1 : na > nb ? 1 : 0;
  else {
    const sa = toStr(a);
    const sb = toStr(b);
    c = sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  switch (op) {
    case '==': return c === 0;
    case '!=': return c !== 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    default: return c >= 0;
  }
}

export function evaluate(s: string, row: Row): Value {
  return evalE(parseExpr(s), row);
}

export const isTruthy = truthy;

/** FT.CREATE FILTER over a hash: missing fields are null, present ones strings. */
export function evalFilter(s: string, fields: ReadonlyMap<string, Buffer>): boolean {
  const row = new Map<string, Value>();
  for (const name of exprProps(s)) {
    const v = fields.get(name);
    row.set(name, v === undefined ? null : v.toString('latin1'));
  }
  try {
    return truthy(evaluate(s, row));
  } catch {
    return false;
  }
}
