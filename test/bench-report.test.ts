// The benchmarks' progress lines and Markdown/SVG reports (bench/report.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { barChart, Progress, reportMarkdown, writeReport, type ReportTable } from '../bench/report.js';

const table: ReportTable = {
  title: 'GET P1',
  header: ['workload', 'target', 'req/s'],
  rows: [['GET P1', 'redis (direct)', '100000'], ['GET P1', 'dynomite-ts', '50000'], ['GET P1', 'a|b', '25000']],
  chart: { label: 1, value: 2, unit: 'req/s', better: 'higher' },
};

describe('bench reports', () => {
  it('a bar per row, lengths proportional to the values, labels escaped', () => {
    const svg = barChart(table);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const widths = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([420, 210, 105]);
    expect(svg).toContain('>redis (direct)<');
    expect(svg).toContain('GET P1 (req/s, higher is better)');
    const amp = barChart({ ...table, rows: [['x', '<a&b>', '1']] });
    expect(amp).toContain('&lt;a&amp;b&gt;');
  });

  it('Markdown: one table per section, pipes escaped, the chart linked next to it', () => {
    const md = reportMarkdown({ name: 'p', title: 'bench:proxy', notes: ['load 0.1'], tables: [table] }, (i) => `p-${i + 1}.svg`);
    expect(md.split('\n')).toEqual([
      '# bench:proxy', '', '- load 0.1', '', '## GET P1', '',
      '| workload | target | req/s |', '| --- | ---: | ---: |',
      '| GET P1 | redis (direct) | 100000 |', '| GET P1 | dynomite-ts | 50000 |', '| GET P1 | a\\|b | 25000 |', '',
      '![GET P1](p-1.svg)', '',
    ]);
  });

  it('writes the Markdown and its SVGs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dyn-report-'));
    try {
      const path = writeReport({ name: 'core', title: 't', notes: [], tables: [table, { ...table, chart: undefined, title: 'no chart' }] }, dir);
      expect(path).toBe(join(dir, 'core.md'));
      expect(readFileSync(join(dir, 'core-1.svg'), 'utf8')).toBe(barChart(table));
      expect(readFileSync(path, 'utf8')).toContain('![GET P1](core-1.svg)');
      expect(readFileSync(path, 'utf8')).not.toContain('core-2.svg');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('progress: step n of total with percent, elapsed and the estimate after the first step', () => {
    let text = '';
    const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
    const p = new Progress('bench:x', 4, out);
    p.step('a');
    p.step('b');
    p.finish();
    expect(text.split('\n')).toEqual([
      '[bench:x] 1/4 0% 0s elapsed: a',
      '[bench:x] 2/4 25% 0s elapsed, ~0s left: b',
      '[bench:x] 4/4 100% done in 0s',
      '',
    ]);
  });
});
