// FT.DICT* (custom dictionaries), FT.SYN* (synonym groups) and FT.SUG* (autocomplete suggestions)
// of one node. Suggestion dictionaries are named by a key (RediSearch keeps them as a Redis key);
// here they live beside the indexes, on the node that serves the key.
import { OK, type Reply, Double } from './reply.js';
import { err } from './errors.js';
import { levenshteinWithin } from './query-exec.js';
import { normalize } from './tokenizer.js';

interface Suggestion {
  text: string;
  score: number;
  payload: string | undefined;
}

export class Dictionaries {
  private readonly dicts = new Map<string, Set<string>>();
  private readonly syns = new Map<string, Map<string, Set<string>>>();
  private readonly sugs = new Map<string, Map<string, Suggestion>>();

  dictAdd(name: string, terms: string[]): Reply {
    let d = this.dicts.get(name);
    if (!d) this.dicts.set(name, (d = new Set()));
    let n = 0;
    for (const t of terms) {
      if (!d.has(t)) {
        d.add(t);
        n++;
      }
    }
    return n;
  }

  dictDel(name: string, terms: string[]): Reply {
    const d = this.dicts.get(name);
    let n = 0;
    if (d) for (const t of terms) if (d.delete(t)) n++;
    if (d && d.size === 0) this.dicts.delete(name);
    return n;
  }

  dictDump(name: string): Reply {
    const d = this.dicts.get(name);
    if (!d) throw err('could not open dict key');
    return [...d].sort();
  }

  synUpdate(index: string, group: string, terms: string[]): Reply {
    let s = this.syns.get(index);
    if (!s) this.syns.set(index, (s = new Map()));
    for (const t of terms) {
      const term = normalize(t);
      let g = s.get(term);
      if (!g) s.set(term, (g = new Set()));
      g.add(group);
    }
    return OK;
  }

  synDump(index: string): Reply {
    const s = this.syns.get(index);
    const out: Reply[] = [];
    if (s) for (const [term, groups] of [...s].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out.push(term, [...groups]);
    return out;
  }

  /** Synonym groups of an index (the query expands a term to its groups' other terms). */
  synonyms(index: string): Map<string, Set<string>> | undefined {
    return this.syns.get(index);
  }

  sugAdd(a: string[]): Reply {
    const [key, text, scoreText] = a as [string, string, string];
    const score = Number(scoreText);
    if (!Number.isFinite(score)) throw err('ERR invalid score');
    let incr = false;
    let payload: string | undefined;
    for (let i = 3; i < a.length; i++) {
      const o = a[i]!.toUpperCase();
      if (o === 'INCR') incr = true;
      else if (o === 'PAYLOAD') payload = a[++i];
      else throw err('ERR Unknown argument `' + a[i]! + '`');
    }
    let d = this.sugs.get(key);
    if (!d) this.sugs.set(key, (d = new Map()));
    const norm = text.toLowerCase();
    const cur = d.get(norm);
    d.set(norm, { text, score: incr && cur ? cur.score + score : score, payload: payload ?? cur?.payload });
    return d.size;
  }

  sugGet(a: string[]): Reply {
    const [key, prefix] = a as [string, string];
    let fuzzy = false;
    let withScores = false;
    let withPayloads = false;
    let max = 5;
    for (let i = 2; i < a.length; i++) {
      const o = a[i]!.toUpperCase();
      if (o === 'FUZZY') fuzzy = true;
      else if (o === 'WITHSCORES') withScores = true;
      else if (o === 'WITHPAYLOADS') withPayloads = true;
      else if (o === 'MAX') {
        max = Number(a[++i]);
        if (!Number.isInteger(max) || max < 0) throw err('ERR Invalid MAX value');
      } else throw err('ERR Unknown argument `' + a[i]! + '`');
    }
    const d = this.sugs.get(key);
    if (!d || prefix.length === 0) return [];
    const p = prefix.toLowerCase();
    const hits: { s: Suggestion; rank: number }[] = [];
    for (const [norm, s] of d) {
      let ok = norm.startsWith(p);
      if (!ok && fuzzy) ok = levenshteinWithin(p, norm.slice(0, p.length), 1) || levenshteinWithin(p, norm.slice(0, p.length + 1), 1);
      if (!ok) continue;
      // RediSearch ranks by score scaled by how much of the entry the prefix covers.
      const rank = s.score * Math.exp(-Math.abs(norm.length - p.length) / Math.max(1, norm.length));
      hits.push({ s, rank });
    }
    hits.sort((x, y) => y.rank - x.rank || (x.s.text < y.s.text ? -1 : 1));
    const out: Reply[] = [];
    for (const h of hits.slice(0, max)) {
      out.push(h.s.text);
      if (withScores) out.push(new Double(h.rank));
      if (withPayloads) out.push(h.s.payload ?? null);
    }
    return out;
  }

  sugDel(key: string, text: string): Reply {
    const d = this.sugs.get(key);
    return d && d.delete(text.toLowerCase()) ? 1 : 0;
  }

  sugLen(key: string): Reply {
    return this.sugs.get(key)?.size ?? 0;
  }
}
