// The RediSearch query language, dialects 1 and 2, into a QNode tree.
//
// Dialect 2 (RediSearch 2.4+):  union := inter ('|' inter)* ; inter := unary+ ;
//                               unary := '-' unary | '~' unary | atom        (| binds loosest)
// Dialect 1 (the default):      and := or+ ; or := pre ('|' pre)* ; pre := '-' or | '~' or | atom,
//   where a run of plain words is one atom (a "termlist"), and a `@field:` modifier takes the whole
//   following `or` — so `hello world | "goodbye" moon` is `((hello world) | goodbye) moon`, as
//   RediSearch 1.x/2.x parse it with DIALECT 1, and `-a b` negates `a b`.
// Atoms: words, "phrases", prefix*, %fuzzy% / %%fuzzy%%, (groups), @f:[lo hi], @f:{tags}, *,
// $params (dialect 2), @v:[VECTOR_RANGE r $blob]. A trailing `=>[KNN ...]` is split off first.
import type { KnnClause, ParsedQuery, QNode, TagValue, Fields } from './query-ast.js';
import { err } from './errors.js';
import { isSeparator, normalize } from './tokenizer.js';
import { parseNumeric } from './doc-index.js';

export interface ParseOptions {
  dialect: number;
  params: ReadonlyMap<string, Buffer>;
  stopwords: ReadonlySet<string>;
  verbatim: boolean;
}

/** Characters that end a word in a query (RediSearch's punctuation and spaces). */
const isWordEnd = (c: number): boolean => isSeparator(c) || c === 32 || c === 9 || c === 10 || c === 13;

class Parser {
  pos = 0;
  constructor(readonly q: string, readonly o: ParseOptions) {}

  fail(at = this.pos): never {
    let end = at;
    while (end < this.q.length && !isWordEnd(this.q.charCodeAt(end))) end++;
    const near = this.q.slice(at, Math.max(end, at + 1));
    throw err(`Syntax error at offset ${at} near ${near}`);
  }

  ws(): void {
    while (this.pos < this.q.length) {
      const c = this.q.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  peek(): string {
    this.ws();
    return this.q[this.pos] ?? '';
  }

  eat(s: string): boolean {
    this.ws();
    if (this.q.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  expect(s: string): void {
    if (!this.eat(s)) this.fail();
  }

  atEnd(): boolean {
    this.ws();
    return this.pos >= this.q.length;
  }

  /** Raw word at pos (escapes kept), or '' when none. */
  rawWord(): string {
    const start = this.pos;
    while (this.pos < this.q.length) {
      const c = this.q.charCodeAt(this.pos);
      if (c === 92 && this.pos + 1 < this.q.length) {
        this.pos += 2;
        continue;
      }
      if (isWordEnd(c)) break;
      this.pos++;
    }
    return this.q.slice(start, this.pos);
  }

  // ---- dialect 2 ----

  union2(): QNode {
    const kids = [this.inter2()];
    while (this.eat('|')) kids.push(this.inter2());
    return kids.length === 1 ? kids[0]! : { t: 'or', children: kids };
  }

  inter2(): QNode {
    const kids: QNode[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '' || c === ')' || c === '|') break;
      if (this.q.startsWith('=>', this.pos)) break;
      kids.push(this.unary2());
    }
    if (kids.length === 0) this.fail();
    return kids.length === 1 ? kids[0]! : { t: 'and', children: kids };
  }

  unary2(): QNode {
    if (this.eat('-')) return { t: 'not', child: this.unary2() };
    if (this.eat('~')) return { t: 'opt', child: this.unary2() };
    return this.atom(null, false);
  }

  // ---- dialect 1 ----

  and1(): QNode {
    const kids: QNode[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '' || c === ')' || c === '|') break;
      if (this.q.startsWith('=>', this.pos)) break;
      kids.push(this.or1(null));
    }
    if (kids.length === 0) this.fail();
    return kids.length === 1 ? kids[0]! : { t: 'and', children: kids };
  }

  or1(fields: Fields): QNode {
    const kids = [this.pre1(fields)];
    while (this.eat('|')) kids.push(this.pre1(fields));
    return kids.length === 1 ? kids[0]! : { t: 'or', children: kids, fields };
  }

  pre1(fields: Fields): QNode {
    if (this.eat('-')) return { t: 'not', child: this.or1(fields) };
    if (this.eat('~')) return { t: 'opt', child: this.or1(fields) };
    return this.atom(fields, true);
  }

  // ---- atoms (both dialects) ----

  atom(fields: Fields, d1: boolean): QNode {
    const c = this.peek();
    const at = this.pos;
    if (c === '') this.fail();
    if (c === '@') return this.modifier(d1);
    if (c === '(') {
      this.pos++;
      if (this.peek() === ')') this.fail();
      const inner = d1 ? this.and1Fields(fields) : this.withFields(this.union2(), fields);
      this.expect(')');
      return inner;
    }
    if (c === '"') return this.phrase(fields);
    if (c === '%') return this.fuzzy(fields);
    if (c === '*') {
      this.pos++;
      return { t: 'all' };
    }
    if (c === '$' && !d1) {
      this.pos++;
      const name = this.rawWord();
      const v = this.param(name, at);
      return this.termNode(v.toString('latin1'), fields, this.wordIsPrefix(), true);
    }
    if (isWordEnd(c.charCodeAt(0))) this.fail();
    if (d1) {
      // A termlist: consecutive plain words make one intersection atom.
      const words: QNode[] = [this.word(fields)];
      for (;;) {
        const save = this.pos;
        const n = this.peek();
        if (n === '' || isWordEnd(n.charCodeAt(0))) {
          this.pos = save;
          break;
        }
        const w = this.word(fields);
        if (w.t === 'prefix') {
          this.pos = save;
          break;
        }
        words.push(w);
      }
      if (words.length > 1 && words[0]!.t === 'prefix') return words[0]!;
      return words.length === 1 ? words[0]! : { t: 'and', children: words, fields };
    }
    return this.word(fields);
  }

  and1Fields(fields: Fields): QNode {
    return this.withFields(this.and1(), fields);
  }

  wordIsPrefix(): boolean {
    if (this.q[this.pos] === '*') {
      this.pos++;
      return true;
    }
    return false;
  }

  word(fields: Fields): QNode {
    const raw = this.rawWord();
    if (raw === '') this.fail();
    const prefix = this.wordIsPrefix();
    return this.termNode(normalize(raw), fields, prefix, false);
  }

  termNode(term: string, fields: Fields, prefix: boolean, fromParam: boolean): QNode {
    const t = fromParam ? normalize(term) : term;
    if (prefix) return { t: 'prefix', prefix: t, fields };
    if (t.length === 0 || this.o.stopwords.has(t)) return { t: 'null' };
    return { t: 'term', term: t, fields, verbatim: this.o.verbatim };
  }

  param(name: string, at: number): Buffer {
    const v = this.o.params.get(name);
    if (v === undefined) throw err(`No such parameter \`${name}\``);
    void at;
    return v;
  }

  phrase(fields: Fields): QNode {
    this.pos++; // "
    const terms: string[] = [];
    for (;;) {
      this.ws();
      if (this.pos >= this.q.length) this.fail();
      if (this.q[this.pos] === '"') {
        this.pos++;
        break;
      }
      const raw = this.rawWord();
      if (raw === '') {
        this.pos++; // punctuation inside a phrase separates words
        continue;
      }
      const t = normalize(raw);
      if (t.length > 0 && !this.o.stopwords.has(t)) terms.push(t);
    }
    if (terms.length === 0) return { t: 'null' };
    if (terms.length === 1) return { t: 'term', term: terms[0]!, fields, verbatim: true };
    return { t: 'phrase', terms, fields };
  }

  fuzzy(fields: Fields): QNode {
    const start = this.pos;
    let n = 0;
    while (this.q[this.pos] === '%') {
      this.pos++;
      n++;
    }
    if (n > 3) this.fail(start);
    const raw = this.rawWord();
    if (raw === '') this.fail();
    for (let k = 0; k < n; k++) if (this.q[this.pos++] !== '%') this.fail(start);
    return { t: 'fuzzy', term: normalize(raw), dist: n, fields };
  }

  modifier(d1: boolean): QNode {
    const start = this.pos;
    this.pos++; // @
    const names: string[] = [];
    for (;;) {
      const name = this.rawWord();
      if (name === '') this.fail(start);
      names.push(unescape(name));
      if (this.q[this.pos] === '|') {
        this.pos++;
        continue;
      }
      break;
    }
    if (this.q[this.pos] !== ':') this.fail(this.pos);
    this.pos++;
    const c = this.peek();
    if (c === '[') return this.range(names, start);
    if (c === '{') return this.tagList(names, start);
    if (d1) return this.or1(names);
    const inner = this.atom(names, false);
    return inner;
  }

  withFields(n: QNode, fields: Fields): QNode {
    if (fields === null) return n;
    switch (n.t) {
      case 'term':
      case 'prefix':
      case 'fuzzy':
      case 'phrase':
        return n.fields === null ? { ...n, fields } : n;
      case 'and':
      case 'or':
        return { ...n, fields: n.fields ?? fields, children: n.children.map((c) => this.withFields(c, fields)) };
      case 'not':
      case 'opt':
        return { ...n, child: this.withFields(n.child, fields) };
      default:
        return n;
    }
  }

  range(names: string[], start: number): QNode {
    if (names.length !== 1) this.fail(start);
    this.pos++; // [
    this.ws();
    if (/^VECTOR_RANGE\b/i.test(this.q.slice(this.pos))) {
      this.pos += 'VECTOR_RANGE'.length;
      const radius = this.number(false);
      this.ws();
      if (this.q[this.pos] !== '$') this.fail();
      this.pos++;
      const blob = this.param(this.rawWord(), this.pos);
      this.expect(']');
      return { t: 'vrange', field: names[0]!, radius: radius.v, blob };
    }
    const lo = this.number(true);
    this.ws();
    if (this.q[this.pos] === ',') this.pos++;
    const hi = this.number(true);
    this.expect(']');
    return { t: 'numeric', field: names[0]!, lo: lo.v, hi: hi.v, loEx: lo.ex, hiEx: hi.ex };
  }

  number(allowEx: boolean): { v: number; ex: boolean } {
    this.ws();
    let ex = false;
    if (allowEx && this.q[this.pos] === '(') {
      ex = true;
      this.pos++;
    }
    const at = this.pos;
    let text: string;
    if (this.q[this.pos] === '$') {
      this.pos++;
      text = this.param(this.rawWordNum(), at).toString('latin1');
    } else text = this.rawWordNum();
    const v = parseNumeric(text);
    if (v === undefined || text === '') this.fail(at);
    return { v, ex };
  }

  /** A number token: sign, digits, '.', exponent, inf. */
  rawWordNum(): string {
    const start = this.pos;
    while (this.pos < this.q.length && /[0-9a-zA-Z+\-._]/.test(this.q[this.pos]!)) this.pos++;
    return this.q.slice(start, this.pos);
  }

  tagList(names: string[], start: number): QNode {
    if (names.length !== 1) this.fail(start);
    this.pos++; // {
    const values: TagValue[] = [];
    let cur = '';
    const flush = (): void => {
      let v = cur.trim();
      cur = '';
      let prefix = false;
      if (v.endsWith('*') && !v.endsWith('\\*')) {
        prefix = true;
        v = v.slice(0, -1).trimEnd();
      }
      if (v.startsWith('$') && this.o.dialect >= 2) v = this.param(v.slice(1), start).toString('latin1');
      else v = unescape(v);
      if (v.length === 0) this.fail(start);
      values.push({ value: v, prefix });
    };
    for (;;) {
      if (this.pos >= this.q.length) this.fail(start);
      const ch = this.q[this.pos]!;
      if (ch === '\\' && this.pos + 1 < this.q.length) {
        cur += ch + this.q[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (ch === '}') {
        this.pos++;
        flush();
        break;
      }
      if (ch === '|') {
        this.pos++;
        flush();
        continue;
      }
      cur += ch;
      this.pos++;
    }
    return { t: 'tag', field: names[0]!, values };
  }
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/**
 * RediSearch expands (stems) only terms reached through intersections and unions: terms under a
 * negation or an optional clause are matched as written.
 */
function noExpandUnder(n: QNode, verbatim: boolean): QNode {
  switch (n.t) {
    case 'term':
      return verbatim && !n.verbatim ? { ...n, verbatim: true } : n;
    case 'and':
    case 'or':
      return { ...n, children: n.children.map((c) => noExpandUnder(c, verbatim)) };
    case 'not':
    case 'opt':
      return { ...n, child: noExpandUnder(n.child, true) };
    default:
      return n;
  }
}

/** Splits `<filter>=>[KNN ...]` (dialect 2) and parses both parts. */
export function parseQuery(q: string, o: ParseOptions): ParsedQuery {
  let text = q;
  let knn: KnnClause | undefined;
  const arrow = findKnnArrow(q);
  if (arrow >= 0) {
    if (o.dialect < 2) throw err('Syntax error: KNN queries need DIALECT 2');
    knn = parseKnn(q.slice(arrow + 2), o, arrow + 2);
    text = q.slice(0, arrow);
  }
  const p = new Parser(text, o);
  if (p.atEnd()) {
    if (knn) throw err(`Syntax error at offset 0 near ${q.slice(0, 8)}`);
    return { root: { t: 'null' }, knn };
  }
  const root = o.dialect >= 2 ? p.union2() : p.and1();
  if (!p.atEnd()) p.fail();
  return { root: noExpandUnder(root, false), knn };
}

function findKnnArrow(q: string): number {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '=' && q[i + 1] === '>' && depth === 0 && /^\s*\[/.test(q.slice(i + 2))) return i;
  }
  return -1;
}

function parseKnn(s: string, o: ParseOptions, base: number): KnnClause {
  const m = /^\s*\[\s*KNN\s+(\S+)\s+@(\S+)\s+\$(\S+?)((?:\s+(?:EF_RUNTIME\s+\S+|AS\s+\S+?))*)\s*\]\s*$/i.exec(s);
  if (!m) throw err(`Syntax error at offset ${base} near ${s.trim().slice(0, 16)}`);
  let kText = m[1]!;
  if (kText.startsWith('$')) {
    const v = o.params.get(kText.slice(1));
    if (v === undefined) throw err(`No such parameter \`${kText.slice(1)}\``);
    kText = v.toString('latin1');
  }
  const k = Number(kText);
  if (!Number.isInteger(k) || k < 0) throw err('Invalid K value');
  const blob = o.params.get(m[3]!);
  if (blob === undefined) throw err(`No such parameter \`${m[3]!}\``);
  let as: string | undefined;
  let efRuntime: number | undefined;
  const rest = (m[4] ?? '').trim().split(/\s+/).filter((x) => x !== '');
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i]!.toUpperCase() === 'AS') as = rest[i + 1];
    else efRuntime = Number(rest[i + 1]);
  }
  return { k, field: m[2]!, blob, as, efRuntime };
}
