// The shape of src/: no import cycle between its folders (type imports included), and src/wasm/
// holds only the JS<->WASM boundary (test oracles live under test/).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const IMPORT = /(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The top-level folder (or root file) of src/ a path belongs to. */
const folderOf = (p: string): string => relative(SRC, p).split(sep)[0]!;

/** Folder -> the folders its files import from. */
function folderGraph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of files(SRC)) {
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const a = folderOf(f);
      const b = folderOf(normalize(join(dirname(f), m[1]!)));
      if (a === b) continue;
      if (!g.has(a)) g.set(a, new Set());
      g.get(a)!.add(b);
    }
  }
  return g;
}

/** Every cycle's folders (strongly connected components with more than one folder), sorted. */
function cycles(g: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let n = 0;
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        on.delete(w);
        comp.push(w);
        if (w === v) break;
      }
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  const nodes = new Set([...g.keys(), ...[...g.values()].flatMap((s) => [...s])]);
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return out;
}

describe('the folders of src/', () => {
  it('import each other without a cycle', () => {
    expect(cycles(folderGraph())).toEqual([]);
  });

  it('the cycle check finds a cycle when there is one', () => {
    const g = new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
  });
});
