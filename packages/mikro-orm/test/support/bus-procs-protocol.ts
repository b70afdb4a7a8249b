/** What bus-processes.integration.test.ts and its children (support/bus-procs-child.ts) say to each other. */
import type { BusState } from '@stockpyle/core';

/** Handed to each child in BUS_PROCS_CONFIG. */
export interface ChildConfig {
  readonly index: number;
  readonly pgUrl: string;
  readonly schema: string;
  /** The Redis tier: a standalone URL or Cluster seeds. */
  readonly storeUrl: string | readonly string[];
  /** The bus's Redis: the same, or a TCP proxy in front of it. */
  readonly busUrl: string | readonly string[];
  readonly prefix: string;
  readonly rows: number;
  readonly maxStale: number;
  readonly readEveryMs: number;
}

export type ParentMessage =
  | { readonly op: 'write'; readonly id: number; readonly title: string }
  | { readonly op: 'read'; readonly on: boolean }
  | { readonly op: 'report' }
  | { readonly op: 'quit' };

/** One read of the loop: the row, when it began and ended, the version it returned (0: none). */
export interface ReadRecord {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly version: number;
}

export interface ChildReport {
  readonly type: 'report';
  readonly reads: ReadRecord[];
  readonly states: { state: BusState; at: number }[];
  readonly errors: string[];
  readonly redisReads: number;
  readonly databaseReads: number;
  /** The event loop's delay since the last report (monitorEventLoopDelay at 1 ms resolution, so at least ~1 ms). */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number };
}

export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done' }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'state'; readonly state: BusState; readonly at: number }
  /** Keys the bus handed the process, and when (its memory tier had settled them by then). */
  | { readonly type: 'receipt'; readonly keys: readonly string[]; readonly at: number }
  | { readonly type: 'wrote'; readonly id: number; readonly version: number; readonly committedAt: number; readonly publishedAt: number; readonly flushedAt: number }
  | ChildReport;
