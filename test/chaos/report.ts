// The chaos run's report: results.json (every figure, the invariants with examples), report.md
// (bench/report.ts's tables and bar chart) and one SVG timeline per scenario: acknowledged and
// failed/unknown operations per 250 ms, the nemesis window shaded, the heal and the writers' stop
// marked. Plain SVG strings, like the benchmarks' charts: no plotting dependency.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportMarkdown, barChart, type Report, type ReportTable } from '../../bench/report.js';
import { invariants, type ScenarioOptions, type ScenarioResult } from './suite.js';

const BUCKET_MS = 250;

export interface Summary {
  readonly name: string;
  readonly what: string;
  readonly ops: Record<string, number>;
  readonly acknowledged: number;
  readonly faultAt: number;
  readonly healAt: number;
  readonly stoppedAt: number;
  readonly convergedMs: number | null;
  readonly hintsReplayedMs: number | null;
  readonly hintsPeak: number;
  readonly invariants: ReturnType<typeof invariants>;
  readonly held: boolean;
  /** Every operation on the keys a failed invariant names as examples: what to debug from. */
  readonly exampleOps: Record<string, { kind: string; seq?: number; node: number; t0: number; t1: number; outcome: string; reply: string }[]>;
}

export function summarize(r: ScenarioResult, o: ScenarioOptions): Summary {
  const ops: Record<string, number> = {};
  for (const op of r.history.ops) ops[`${op.kind} ${op.outcome}`] = (ops[`${op.kind} ${op.outcome}`] ?? 0) + 1;
  const inv = invariants(r, o);
  const exampleKeys = new Set(inv.filter((i) => !i.held).flatMap((i) => i.examples.map((e) => e.slice(0, e.indexOf(': ')))));
  const exampleOps: Summary['exampleOps'] = {};
  for (const op of r.history.ops) {
    if (!exampleKeys.has(op.key)) continue;
    (exampleOps[op.key] ??= []).push({ kind: op.kind, seq: op.seq, node: op.node, t0: op.t0, t1: op.t1, outcome: op.outcome, reply: op.reply });
  }
  return {
    exampleOps,
    name: r.name, what: r.what, ops, acknowledged: r.history.acknowledged(), faultAt: r.faultAt, healAt: r.healAt,
    stoppedAt: r.stoppedAt, convergedMs: r.convergedMs, hintsReplayedMs: r.hintsReplayedMs, hintsPeak: r.hintsPeak,
    invariants: inv, held: inv.every((i) => i.held),
  };
}

/** The scenario's timeline as SVG: ok ops (blue) and failed + unknown ops (red) per bucket. */
export function timelineSvg(r: ScenarioResult): string {
  const end = Math.max(r.stoppedAt, ...r.history.ops.map((o) => o.t1)) + BUCKET_MS;
  const n = Math.ceil(end / BUCKET_MS);
  const ok = new Array<number>(n).fill(0);
  const bad = new Array<number>(n).fill(0);
  for (const o of r.history.ops) {
    const b = Math.min(n - 1, Math.floor(Math.max(0, o.t1) / BUCKET_MS));
    if (o.outcome === 'ok') ok[b]!++;
    else bad[b]!++;
  }
  const perSec = 1000 / BUCKET_MS;
  const max = Math.max(1, ...ok, ...bad) * perSec;
  const W = 760;
  const H = 240;
  const left = 60;
  const top = 30;
  const plotW = W - left - 20;
  const plotH = H - top - 40;
  const x = (ms: number): number => left + (ms / end) * plotW;
  const y = (perS: number): number => top + plotH - (perS / max) * plotH;
  const line = (vals: number[], colour: string): string =>
    `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${vals.map((v, i) => `${x((i + 0.5) * BUCKET_MS).toFixed(1)},${y(v * perSec).toFixed(1)}`).join(' ')}"/>`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="8" y="16" font-weight="bold">${r.name}: operations per second (blue acknowledged, red failed or unknown); shaded: nemesis</text>`,
    `<rect x="${x(r.faultAt).toFixed(1)}" y="${top}" width="${Math.max(1, x(r.healAt) - x(r.faultAt)).toFixed(1)}" height="${plotH}" fill="#f5b7b1" opacity="0.5"/>`,
    `<line x1="${x(r.stoppedAt).toFixed(1)}" x2="${x(r.stoppedAt).toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#555" stroke-dasharray="4 3"/>`,
    `<text x="${(x(r.stoppedAt) + 3).toFixed(1)}" y="${top + 10}">writers stop</text>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#000"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#000"/>`,
    `<text x="${left - 4}" y="${top + 4}" text-anchor="end">${Math.round(max)}</text>`,
    `<text x="${left - 4}" y="${top + plotH}" text-anchor="end">0</text>`,
    line(ok, '#2e86de'),
    line(bad, '#c0392b'),
  ];
  for (let s = 0; s <= end / 1000; s += Math.max(1, Math.round(end / 10000))) {
    parts.push(`<text x="${x(s * 1000).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle">${s}s</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Writes results.json, report.md and the SVGs into `dir`; returns report.md's path. */
export function writeChaosReport(dir: string, results: readonly ScenarioResult[], o: ScenarioOptions, notes: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  const sums = results.map((r) => summarize(r, o));
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify({ options: o, notes, scenarios: sums }, null, 2)}\n`);
  const overview: ReportTable = {
    title: 'Scenarios',
    header: ['scenario', 'acknowledged', 'attempted', 'invariants held', 'converged (ms after heal)', 'hints replayed (ms after heal)'],
    rows: sums.map((s) => [
      s.name, String(s.acknowledged), String(Object.values(s.ops).reduce((a, b) => a + b, 0)),
      `${s.invariants.filter((i) => i.held).length}/${s.invariants.length}`,
      s.convergedMs === null ? `not within ${o.convergeMs}` : String(s.convergedMs),
      s.hintsReplayedMs === null ? 'still pending' : String(s.hintsReplayedMs),
    ]),
    chart: { label: 0, value: 1, unit: 'acknowledged writes', better: 'higher' },
  };
  const perScenario: ReportTable[] = sums.map((s) => ({
    title: `${s.name}: ${s.what}`,
    header: ['invariant', 'held', 'figure', 'first examples'],
    rows: s.invariants.map((i) => [i.name, i.held ? 'yes' : '**no**', i.figure, i.examples.slice(0, 2).join('<br>')]),
  }));
  const report: Report = { name: 'chaos', title: 'Chaos suite', notes, tables: [overview, ...perScenario] };
  writeFileSync(join(dir, 'chaos-1.svg'), barChart(overview));
  const md = [reportMarkdown(report, (i) => `chaos-${i + 1}.svg`), '## Timelines', ''];
  for (const r of results) {
    const file = `timeline-${r.name}.svg`;
    writeFileSync(join(dir, file), timelineSvg(r));
    const s = sums.find((x) => x.name === r.name)!;
    md.push(`### ${r.name}`, '', `Operations: ${Object.entries(s.ops).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '', `![${r.name} timeline](${file})`, '');
  }
  const path = join(dir, 'report.md');
  writeFileSync(path, md.join('\n'));
  return path;
}
