import type { Check, RowResult } from './harness';

/** Services a case needs; the runner starts each one once for all cases. */
export type ServiceName = 'memcached' | 'redis' | 'redis-cluster' | 'postgres';

/** What every case gets: the mode and where the services listen. */
export interface BenchContext {
  readonly quick: boolean;
  /** Measured runs per row (after warm-up). */
  readonly runs: number;
  /** `127.0.0.1:PORT` for memcached, `redis://…`, `postgresql://…`. */
  readonly urls: Readonly<Partial<Record<ServiceName, string>>>;
  /** Progress lines, on stderr so that the table stays clean. */
  log(message: string): void;
}

/** What a case reports: its measured rows, the targets it checks, and notes for the reader. */
export interface CaseOutcome {
  readonly rows: RowResult[];
  readonly checks: Check[];
  readonly notes?: string[];
}

/** One numbered case of the issue. */
export interface BenchCase {
  readonly id: number;
  readonly title: string;
  readonly needs: readonly ServiceName[];
  run(ctx: BenchContext): Promise<CaseOutcome>;
}
