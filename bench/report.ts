// What the benchmarks share besides measuring: progress on stderr while they run, and a Markdown
// report with SVG bar charts next to each table when they end (bench/results/<name>.md, gitignored;
// `--report <dir>` writes elsewhere). The charts are plain SVG strings: no plotting dependency, and
// the report renders on GitHub, in an editor preview or a browser without network.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Progress of a run of `total` steps: `[name] 7/18 39% 12s elapsed, ~19s left: <what>`. */
export class Progress {
  private done = 0;
  private readonly started = Date.now();

  constructor(private readonly name: string, private readonly total: number, private readonly out: NodeJS.WritableStream = process.stderr) {}

  /** Announces the step about to run. */
  step(what: string): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const left = this.done === 0 ? '' : `, ~${Math.round((elapsed / this.done) * (this.total - this.done))}s left`;
    const pct = Math.floor((this.done / this.total) * 100);
    this.out.write(`[${this.name}] ${this.done + 1}/${this.total} ${pct}% ${Math.round(elapsed)}s elapsed${left}: ${what}\n`);
    this.done++;
  }

  finish(): void {
    this.out.write(`[${this.name}] ${this.total}/${this.total} 100% done in ${Math.round((Date.now() - this.started) / 1000)}s\n`);
  }
}

/** One table of the report; `chart` names the numeric column drawn as bars, one bar per row. */
export interface ReportTable {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly chart?: {
    /** Column index of the bar's label (several columns joined by ' / ' when an array). */
    readonly label: number | readonly number[];
    /** Column index of the value. */
    readonly value: number;
    readonly unit: string;
    /** 'higher' when more is better (req/s), 'lower' for times. Shown in the chart's caption. */
    readonly better: 'higher' | 'lower';
  };
}

export interface Report {
  /** File stem: bench/results/<name>.md and <name>-<n>.svg. */
  readonly name: string;
  readonly title: string;
  /** Lines under the title: command, machine, load, what was compared. */
  readonly notes: readonly string[];
  readonly tables: readonly ReportTable[];
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const escapeCell = (s: string): string => s.replace(/\|/g, '\\|');

/** A horizontal bar chart: one labelled bar per row, the value printed at its end. */
export function barChart(table: ReportTable): string {
  const c = table.chart!;
  const labelOf = (r: readonly string[]): string =>
    (typeof c.label === 'number' ? [c.label] : c.label).map((i) => r[i] ?? '').join(' / ');
  const bars = table.rows.map((r) => ({ label: labelOf(r), value: Number(r[c.value]) })).filter((b) => Number.isFinite(b.value));
  const max = Math.max(1e-12, ...bars.map((b) => b.value));
  const labelWidth = Math.min(360, 7 * Math.max(8, ...bars.map((b) => b.label.length)));
  const barArea = 420;
  const rowH = 22;
  const width = labelWidth + barArea + 110;
  const height = 40 + bars.length * rowH;
  const palette = ['#2e86de', '#e67e22', '#16a085', '#8e44ad', '#c0392b', '#2c3e50'];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="18" font-weight="bold">${escapeXml(table.title)} (${escapeXml(c.unit)}, ${c.better} is better)</text>`,
  ];
  bars.forEach((b, i) => {
    const y = 30 + i * rowH;
    const w = Math.max(1, (b.value / max) * barArea);
    parts.push(
      `<text x="${labelWidth}" y="${y + 14}" text-anchor="end">${escapeXml(b.label)}</text>`,
      `<rect x="${labelWidth + 8}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${palette[i % palette.length]}"/>`,
      `<text x="${(labelWidth + 12 + w).toFixed(1)}" y="${y + 14}">${escapeXml(String(b.value))}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The Markdown of a report; `svgName(i)` is the file name the i-th chart is written under. */
export function reportMarkdown(r: Report, svgName: (i: number) => string): string {
  const out = [`# ${r.title}`, '', ...r.notes.map((n) => `- ${n}`), ''];
  r.tables.forEach((t, i) => {
    out.push(`## ${t.title}`, '');
    out.push(`| ${t.header.map(escapeCell).join(' | ')} |`, `|${t.header.map((_, j) => (j === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of t.rows) out.push(`| ${row.map(escapeCell).join(' | ')} |`);
    out.push('');
    if (t.chart) out.push(`![${t.title}](${svgName(i)})`, '');
  });
  return out.join('\n');
}

/** Where `--report <dir>` points, else bench/results. */
export function reportDir(argv: readonly string[] = process.argv): string {
  const i = argv.indexOf('--report');
  return resolve(i >= 0 && argv[i + 1] ? argv[i + 1]! : join(new URL('.', import.meta.url).pathname, 'results'));
}

/** Writes <dir>/<name>.md and one SVG per charted table; returns the Markdown file's path. */
export function writeReport(r: Report, dir = reportDir()): string {
  mkdirSync(dir, { recursive: true });
  const svgName = (i: number): string => `${r.name}-${i + 1}.svg`;
  r.tables.forEach((t, i) => {
    if (t.chart) writeFileSync(join(dir, svgName(i)), barChart(t));
  });
  const path = join(dir, `${r.name}.md`);
  writeFileSync(path, reportMarkdown(r, svgName));
  return path;
}
