/**
 * Measuring: each row is one operation measured the same way in every run; runs of all rows of a
 * case are interleaved (row A, row B, …, then again), so drift of the machine hits all rows alike.
 */

/** What a row's number means; `ns` and `µs` are per operation. */
export type Unit = 'ns/op' | 'µs/op' | 'ms/op' | 'ops/s' | 'MB' | 'queries' | 'x';

/** One measured line of the table. */
export interface RowDef {
  readonly id: string;
  readonly label: string;
  readonly unit: Unit;
  /** Runs once before measuring (warm-up, filling caches); not timed. */
  prepare?(): Promise<void> | void;
  /** One run: returns the run's value in `unit`. */
  run(): Promise<number> | number;
}

/** A measured row: the median over runs, and the spread. */
export interface RowResult {
  readonly id: string;
  readonly label: string;
  readonly unit: Unit;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** A ratio or a count checked against the target, or shown for context (no target). */
export interface Check {
  readonly label: string;
  readonly value: number;
  /** How the value is shown: a ratio `×` or a plain count. */
  readonly kind: 'ratio' | 'count';
  readonly target?: string;
  readonly holds?: boolean;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nanoseconds since an arbitrary origin. */
export function now(): number {
  return Number(process.hrtime.bigint());
}

/** Warm-up runs, then `runs` interleaved runs of every row; medians per row. */
export async function measureRows(rows: readonly RowDef[], runs: number, warmups = 1): Promise<RowResult[]> {
  for (const row of rows) await row.prepare?.();
  for (let w = 0; w < warmups; w++) for (const row of rows) await row.run();
  const samples = rows.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < rows.length; i++) samples[i]!.push(await rows[i]!.run());
  }
  return rows.map((row, i) => ({
    id: row.id,
    label: row.label,
    unit: row.unit,
    median: median(samples[i]!),
    min: Math.min(...samples[i]!),
    max: Math.max(...samples[i]!),
    runs,
  }));
}

/** Runs `total` operations keeping `concurrency` in flight; returns operations per second. */
export function throughput(total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = now();
    let next = 0;
    let done = 0;
    let failed = false;
    const launch = (): void => {
      const i = next++;
      op(i).then(() => {
        if (failed) return;
        if (++done === total) resolve(total / ((now() - start) / 1e9));
        else if (next < total) launch();
      }, (error: unknown) => {
        failed = true;
        reject(error);
      });
    };
    for (let i = 0; i < Math.min(concurrency, total); i++) launch();
  });
}

/** Runs `ops` operations one after another; returns microseconds per operation. */
export async function sequentialMicros(ops: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = now();
  for (let i = 0; i < ops; i++) await op(i);
  return (now() - start) / 1e3 / ops;
}

/** A check that a ratio is at most `limit`. */
export function atMost(label: string, value: number, limit: number): Check {
  return { label, value, kind: 'ratio', target: `≤ ${limit}×`, holds: value <= limit };
}

/** A check that a ratio is at least `limit`. */
export function atLeast(label: string, value: number, limit: number): Check {
  return { label, value, kind: 'ratio', target: `≥ ${limit}×`, holds: value >= limit };
}

/** A check that a count is exactly `expected`. */
export function exactly(label: string, value: number, expected: number): Check {
  return { label, value, kind: 'count', target: `= ${expected}`, holds: value === expected };
}

/** A ratio shown for context, checked against nothing. */
export function context(label: string, value: number): Check {
  return { label, value, kind: 'ratio' };
}

/** The median of a row by id; throws when a case forgot to measure it. */
export function med(results: readonly RowResult[], id: string): number {
  const row = results.find((r) => r.id === id);
  if (row === undefined) throw new Error(`no row ${id}`);
  return row.median;
}
