// FT.EXPLAIN: the query tree in RediSearch 2.x's text form (INTERSECT { ... }, UNION { ... },
// +stem(expanded), NUMERIC {lo <= @f <= hi}, TAG:@f { ... }, PREFIX{x*}, FUZZY{x}, EXACT {...}).
import type { ParsedQuery, QNode } from './query-ast.js';
import type { SearchIndex } from './doc-index.js';
import { snowballStem, STEM_PREFIX } from './stemmer.js';

const num = (n: number): string => (n === Infinity ? 'inf' : n === -Infinity ? '-inf' : n.toFixed(6));

function fieldPrefix(fields: readonly string[] | null): string {
  return fields === null ? '' : `@${fields.join('|')}:`;
}

function lines(n: QNode, ix: SearchIndex, ind: string, out: string[]): void {
  const inner = ind + '  ';
  switch (n.t) {
    case 'null':
      out.push(`${ind}<empty>`);
      return;
    case 'all':
      out.push(`${ind}<WILDCARD>`);
      return;
    case 'term': {
      const fp = fieldPrefix(n.fields);
      if (n.verbatim) {
        out.push(`${ind}${fp}${n.term}`);
        return;
      }
      const s = snowballStem(n.term);
      out.push(`${ind}${fp}UNION {`, `${inner}${fp}${n.term}`, `${inner}${fp}${STEM_PREFIX}${s}(expanded)`);
      if (s !== n.term) out.push(`${inner}${fp}${s}(expanded)`);
      out.push(`${ind}}`);
      return;
    }
    case 'prefix':
      out.push(`${ind}${fieldPrefix(n.fields)}PREFIX{${n.prefix}*}`);
      return;
    case 'fuzzy':
      out.push(`${ind}${fieldPrefix(n.fields)}FUZZY{${n.term}}`);
      return;
    case 'phrase':
      out.push(`${ind}${fieldPrefix(n.fields)}EXACT {`, ...n.terms.map((t) => `${inner}${fieldPrefix(n.fields)}${t}`), `${ind}}`);
      return;
    case 'and':
    case 'or':
      out.push(`${ind}${fieldPrefix(n.fields ?? null)}${n.t === 'and' ? 'INTERSECT' : 'UNION'} {`);
      for (const c of n.children) lines(c, ix, inner, out);
      out.push(`${ind}}`);
      return;
    case 'not':
      out.push(`${ind}NOT{`);
      lines(n.child, ix, inner, out);
      out.push(`${ind}}`);
      return;
    case 'opt':
      out.push(`${ind}OPTIONAL{`);
      lines(n.child, ix, inner, out);
      out.push(`${ind}}`);
      return;
    case 'numeric':
      out.push(`${ind}NUMERIC {${num(n.lo)} ${n.loEx ? '<' : '<='} @${n.field} ${n.hiEx ? '<' : '<='} ${num(n.hi)}}`);
      return;
    case 'tag':
      out.push(`${ind}TAG:@${n.field} {`, ...n.values.map((v) => `${inner}${v.value}${v.prefix ? '*' : ''}`), `${ind}}`);
      return;
    case 'vrange':
      out.push(`${ind}VECTOR {@${n.field} VECTOR_RANGE ${n.radius}}`);
      return;
  }
}

export function explain(q: ParsedQuery, ix: SearchIndex): string {
  const out: string[] = [];
  if (q.knn) {
    out.push(`VECTOR {K=${q.knn.k} nearest vectors to \`$BLOB\` in @${q.knn.field}, yields distance as \`${q.knn.as ?? `__${q.knn.field}_score`}\``);
    lines(q.root, ix, '  ', out);
    out.push('}');
  } else lines(q.root, ix, '', out);
  return out.join('\n') + '\n';
}
