import { cpus, loadavg, release, totalmem } from 'node:os';
import type { BenchCase, CaseOutcome } from './case';
import type { Check, RowResult, Unit } from './harness';

/** The machine a run measured, printed with every table. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly os: string;
  /** 1-minute load average when the run started: other work on the machine skews absolute numbers. */
  readonly load: number;
}

export function describeMachine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown CPU',
    cores: list.length,
    memoryGb: totalmem() / 1024 ** 3,
    node: process.version,
    os: `Linux ${release()}`,
    load: loadavg()[0]!,
  };
}

/** What one case left: its outcome, or why it was not measured. */
export interface CaseReport {
  readonly bench: BenchCase;
  readonly outcome?: CaseOutcome;
  readonly error?: string;
}

function fmt(value: number, unit: Unit): string {
  switch (unit) {
    case 'ops/s':
      return `${Math.round(value).toLocaleString('en')} ops/s`;
    case 'ns/op':
      return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ns`;
    case 'µs/op':
      return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} µs`;
    case 'ms/op':
      return `${value.toFixed(1)} ms`;
    case 'MB':
      return `${value.toFixed(1)} MB`;
    default:
      return `${value.toFixed(2)} ${unit}`;
  }
}

function spread(row: RowResult): string {
  const f = (v: number): string => fmt(v, row.unit).replace(/ .*$/, '');
  return `${f(row.min)} – ${f(row.max)}`;
}

function checkValue(check: Check): string {
  return check.kind === 'count' ? String(check.value) : `${check.value >= 10 ? check.value.toFixed(1) : check.value.toFixed(2)}×`;
}

/** Renders rows as a Markdown table with padded columns, readable in a terminal too. */
function table(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The whole report: machine, one table of medians, the ratios and counts below it, notes. */
export function renderReport(reports: readonly CaseReport[], machine: Machine, mode: string, date: Date): string {
  const out: string[] = [];
  out.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb.toFixed(1)} GB, Node ${machine.node}, ${machine.os}`);
  out.push(`Run: ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${mode}; load average at start ${machine.load.toFixed(1)}`);
  out.push('');
  const rows: string[][] = [];
  for (const r of reports) {
    if (r.outcome === undefined) {
      rows.push([String(r.bench.id), `${r.bench.title}: not measured (${r.error ?? 'skipped'})`, '', '', '']);
      continue;
    }
    for (const row of r.outcome.rows) rows.push([String(r.bench.id), row.label, fmt(row.median, row.unit), spread(row), String(row.runs)]);
  }
  out.push(table(['#', 'case: what runs', 'median', 'min – max', 'runs'], rows, [false, false, true, true, true]));
  out.push('');
  const checks: string[][] = [];
  for (const r of reports) {
    for (const check of r.outcome?.checks ?? []) {
      const verdict = check.holds === undefined ? 'context' : check.holds ? 'holds' : 'MISSED';
      checks.push([String(r.bench.id), check.label, checkValue(check), check.target ?? '—', verdict]);
    }
  }
  out.push(table(['#', 'ratio or count', 'value', 'target', ''], checks, [false, false, true, true, false]));
  out.push('');
  for (const r of reports) {
    const notes = r.outcome?.notes ?? [];
    if (notes.length > 0) out.push(`- ${r.bench.id}. ${r.bench.title}: ${notes.join('; ')}.`);
  }
  return out.join('\n');
}
