/**
 * The parent's side of bus-processes.integration.test.ts: forks the child processes
 * (support/bus-procs-child.ts, on tsx and on the MikroORM of the stack under test) and talks to
 * them; plus the arithmetic of its figures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { KeyBuilder, metadataOf, type BusState } from '@stockpyle/core';
import { eventually } from '../../../../test-support/eventually';
import { Article } from './entities';
import type { ChildConfig, ChildMessage, ParentMessage } from './bus-procs-protocol';

const ROOT = join(__dirname, '..', '..', '..', '..');

type Reply<T extends ChildMessage['type']> = Extract<ChildMessage, { type: T }>;

/** One child process: one request at a time, its bus states and key receipts as they come. */
export class Proc {
  readonly index: number;
  readonly states: { state: BusState; at: number }[] = [];
  /** Every key the child's bus handed it, with the time its memory tier had settled it. */
  readonly receipts: { key: string; at: number }[] = [];
  readonly #child: ChildProcess;
  #pending: { resolve(m: ChildMessage): void; reject(e: Error): void } | undefined;
  #failure: Error | undefined;
  #ready = false;

  constructor(config: ChildConfig) {
    this.index = config.index;
    this.#child = fork(join(__dirname, 'bus-procs-child.ts'), [], {
      cwd: ROOT,
      // The stack's packages (MikroORM 6 on the previous stack) for the child too, then tsx.
      execArgv: ['--require', join(ROOT, 'test-support', 'stack-require.cjs'), '--import', 'tsx'],
      env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), BUS_PROCS_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (m: ChildMessage) => this.#receive(m));
    this.#child.on('exit', (code) => {
      if (code !== 0) this.#fail(new Error(`process ${this.index} exited with code ${String(code)}`));
    });
  }

  /** Resolves once the child is up and its bus has connected for the first time. */
  async started(): Promise<void> {
    await eventually(async () => {
      if (this.#failure !== undefined) throw this.#failure;
      if (!this.#ready || !this.states.some((s) => s.state === 'connected')) throw new Error(`process ${this.index} is not connected yet`);
    }, 60_000, 20);
  }

  ask<T extends ChildMessage['type']>(message: ParentMessage, reply: T): Promise<Reply<T>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#pending !== undefined) return Promise.reject(new Error(`process ${this.index} is still answering a request`));
    return new Promise<ChildMessage>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#child.send(message);
    }).then((m) => {
      if (m.type !== reply) throw new Error(`process ${this.index} answered ${m.type} to ${message.op}, not ${reply}`);
      return m as Reply<T>;
    });
  }

  /** The time of the first `state` reported after `after`; waits for it. */
  async stateAfter(state: BusState, after: number, timeoutMs = 30_000): Promise<number> {
    let at = 0;
    await eventually(async () => {
      if (this.#failure !== undefined) throw this.#failure;
      const found = this.states.find((s) => s.state === state && s.at >= after);
      if (found === undefined) throw new Error(`process ${this.index}: no '${state}' after ${after}`);
      at = found.at;
    }, timeoutMs, 5);
    return at;
  }

  async quit(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    if (this.#failure !== undefined || this.#pending !== undefined) {
      // A child that failed, or is stuck in a request of a failed test: it has nothing to close cleanly.
      const exited = new Promise((resolve) => this.#child.once('exit', resolve));
      this.#child.kill('SIGKILL');
      await exited;
      return;
    }
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.ask({ op: 'quit' }, 'done');
    await exited;
  }

  #receive(m: ChildMessage): void {
    if (m.type === 'ready') this.#ready = true;
    else if (m.type === 'state') this.states.push({ state: m.state, at: m.at });
    else if (m.type === 'receipt') for (const key of m.keys) this.receipts.push({ key, at: m.at });
    else if (m.type === 'failed') this.#fail(new Error(`process ${this.index} failed: ${m.error}`));
    else {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve(m);
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}

/**
 * A committed write as its process saw it: the row, its new version, when it committed, when its
 * chain handed the keys to the bus (the shared tiers invalidated), when the flush returned.
 */
export interface Write {
  readonly by: number;
  readonly id: number;
  readonly version: number;
  readonly committedAt: number;
  readonly publishedAt: number;
  readonly flushedAt: number;
}

/**
 * How far apart two processes' clocks (performance.timeOrigin + now()) may read for the same moment:
 * each process fixes its time origin against the wall clock when it starts, so a receipt that came
 * within a millisecond of the commit can carry an earlier time than the commit did. A receipt of an
 * earlier write of the same row is always far older (rows come back only after every process heard
 * the round before).
 */
const CLOCK_SLACK_MS = 5;

/** Whether a receipt or state change at `at` in another process can come from something done at `since`. */
function after(at: number, since: number): boolean {
  return at >= since - CLOCK_SLACK_MS;
}

/** The bus key of row `id` (its anchor; what a receipt starts with). */
export function anchorOf(id: number): string {
  const probe = Object.assign(Object.create(Article.prototype) as Article, { id });
  return new KeyBuilder().relativeKeysOf(metadataOf(probe), probe)[0]!;
}

/**
 * When the last of `listeners` (other than the writer) had dropped each write's key: by the
 * message, or by a resync (a `connected` clears the whole first tier: a subscription that broke and
 * came back may have missed the message); undefined while one has done neither.
 */
export function dropTimes(writes: readonly Write[], listeners: readonly Proc[]): (number | undefined)[] {
  return writes.map((w) => {
    const anchor = anchorOf(w.id);
    let last = 0;
    for (const proc of listeners) {
      if (proc.index === w.by) continue;
      const heard = proc.receipts.find((r) => after(r.at, w.committedAt) && r.key.split(' ')[0] === anchor)?.at ?? Infinity;
      const resynced = proc.states.find((s) => s.state === 'connected' && after(s.at, w.committedAt))?.at ?? Infinity;
      const dropped = Math.min(heard, resynced);
      if (dropped === Infinity) return undefined;
      last = Math.max(last, dropped);
    }
    return last;
  });
}

/** How many of `writes` reached some listener by a resync rather than by their message. */
export function droppedByResync(writes: readonly Write[], listeners: readonly Proc[]): number {
  return writes.filter((w) => {
    const anchor = anchorOf(w.id);
    return listeners.some((proc) => {
      if (proc.index === w.by) return false;
      const heard = proc.receipts.find((r) => after(r.at, w.committedAt) && r.key.split(' ')[0] === anchor)?.at ?? Infinity;
      const resynced = proc.states.find((s) => s.state === 'connected' && after(s.at, w.committedAt))?.at ?? Infinity;
      return resynced < heard;
    });
  }).length;
}

/** The newest version of row `id` among `writes` whose time (by `when`) is before `t`; 1 (the seed) if none. */
export function versionAsOf(writes: readonly Write[], id: number, t: number, when: (w: Write, i: number) => number | undefined): number {
  let version = 1;
  writes.forEach((w, i) => {
    const at = when(w, i);
    if (w.id === id && at !== undefined && at < t) version = Math.max(version, w.version);
  });
  return version;
}

/** p50, p99 and max of `values`, as printed. */
export function percentiles(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

export const ms = (n: number): string => `${n.toFixed(2)} ms`;
