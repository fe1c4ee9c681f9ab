// Redis `stringmatchlen` (util.c) over latin1 strings: * ? [abc] [^a] [a-z] and \ escapes, with the
// same corner cases (unterminated '[' matches what it collected, ranges compare signed chars, a
// failed '*' tail stops longer retries).

/** Whether `str` matches the glob `pat` exactly as Redis KEYS / SCAN MATCH decide. */
export function globMatch(pat: string, str: string): boolean {
  if (pat === '*') return true;
  return match(pat, 0, str, 0, { skip: false });
}

function signed(c: number): number {
  return c > 127 ? c - 256 : c;
}

function match(pat: string, p: number, str: string, s: number, state: { skip: boolean }): boolean {
  const pEnd = pat.length;
  const sEnd = str.length;
  while (p < pEnd && s < sEnd) {
    const pc = pat.charCodeAt(p);
    if (pc === 0x2a /* * */) {
      while (p + 1 < pEnd && pat.charCodeAt(p + 1) === 0x2a) p++;
      if (p + 1 === pEnd) return true;
      while (s < sEnd) {
        if (match(pat, p + 1, str, s, state)) return true;
        if (state.skip) return false;
        s++;
      }
      state.skip = true;
      return false;
    } else if (pc === 0x3f /* ? */) {
      s++;
    } else if (pc === 0x5b /* [ */) {
      p++;
      const not = pat.charCodeAt(p) === 0x5e;
      if (not) p++;
      let matched = false;
      const c = str.charCodeAt(s);
      for (;;) {
        const q = pat.charCodeAt(p);
        if (q === 0x5c && pEnd - p >= 2) {
          p++;
          if (pat.charCodeAt(p) === c) matched = true;
        } else if (q === 0x5d) {
          break;
        } else if (p >= pEnd) {
          p--;
          break;
        } else if (pEnd - p >= 3 && pat.charCodeAt(p + 1) === 0x2d) {
          let start = signed(q);
          let end = signed(pat.charCodeAt(p + 2));
          if (start > end) [start, end] = [end, start];
          p += 2;
          const sc = signed(c);
          if (sc >= start && sc <= end) matched = true;
        } else if (q === c) {
          matched = true;
        }
        p++;
      }
      if (not) matched = !matched;
      if (!matched) return false;
      s++;
    } else {
      if (pc === 0x5c /* \ */ && pEnd - p >= 2) p++;
      if (pat.charCodeAt(p) !== str.charCodeAt(s)) return false;
      s++;
    }
    p++;
    if (s === sEnd) {
      while (p < pEnd && pat.charCodeAt(p) === 0x2a) p++;
      break;
    }
  }
  return p === pEnd && s === sEnd;
}
