/**
 * A bounded, paced load of mixed operations through a ChainedStore, for fault tests: gets by either
 * key, batch gets, updates, deletes and re-creations of versioned documents over a database
 * stand-in that numbers every committed change. Each read is checked against the database as it
 * was when the read started, each call's latency is kept by phase, and nothing throws from here:
 * failures are collected for the test to assert on.
 */
import 'reflect-metadata';
import { BaseStore, ChainedStore, ProcessMemoryStore, Stockpyle, getMetadata, type Class, type KeyQuery, type Store, type StoreEvent } from '@stockpyle/core';

/** A document whose `version` is set by the database on every committed write. */
@Stockpyle({ keys: ['id', 'slug'], name: 'faults.Doc' })
export class Doc {
  constructor(
    public id: number,
    public slug: string,
    public version = 0,
    public body = '',
  ) {}
}

/** What the database holds for an id: the last committed version, and whether it was a deletion. */
export interface RowState {
  readonly version: number;
  readonly deleted: boolean;
}

/**
 * The source of truth below the caches: a Map of copies. Like an ORM setting a version column on
 * flush, `batchPut` stamps each object it is given with the next version of one global sequence,
 * so versions follow commit order; a deletion takes a version too. `fail` makes every call reject
 * with that error, to check that a database error reaches the caller unchanged.
 */
export class VersionedDatabase extends BaseStore {
  /** Copies of the rows, by id, of whatever decorated class was put (fault tests use one class each). */
  readonly #rows = new Map<number, object>();
  readonly #states = new Map<number, RowState>();
  #sequence = 0;
  /** Each call's simulated round trip, in ms. */
  latencyMs: number;
  fail: Error | undefined;
  reads = 0;

  constructor(latencyMs = 1) {
    super({ name: 'VersionedDatabase' });
    this.latencyMs = latencyMs;
  }

  state(id: number): RowState | undefined {
    return this.#states.get(id);
  }

  async #roundTrip(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.fail !== undefined) throw this.fail;
  }

  async batchPut(objs: readonly object[]): Promise<void> {
    await this.#roundTrip();
    for (const obj of objs) {
      const row = obj as { id: number; version?: number };
      row.version = ++this.#sequence;
      this.#rows.set(row.id, copy(obj));
      this.#states.set(row.id, { version: row.version, deleted: false });
    }
  }

  async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    const meta = getMetadata(cls);
    this.reads++;
    await this.#roundTrip();
    return queries.map((q) => {
      const query = q as Record<string, unknown>;
      const attrs = meta.shapeFor(q).attrs;
      for (const row of this.#rows.values()) {
        const r = row as Record<string, unknown>;
        if (row instanceof cls && attrs.every((a) => r[a] === query[a])) return copy(row) as T;
      }
      return undefined;
    });
  }

  async batchDelete(objs: readonly object[]): Promise<void> {
    await this.#roundTrip();
    for (const obj of objs) {
      const { id } = obj as { id: number };
      if (!this.#rows.delete(id)) continue;
      this.#states.set(id, { version: ++this.#sequence, deleted: true });
    }
  }

  async release(): Promise<void> {}
}

/** A deep copy with the same prototype, as a database hands out a fresh object per read. */
function copy(obj: object): object {
  return Object.assign(Object.create(Object.getPrototypeOf(obj) as object) as object, structuredClone({ ...obj }));
}

export const slugOf = (id: number): string => `doc-${id}`;

/** Latency figures of one phase, in ms. */
export interface PhaseFigures {
  readonly ops: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** A read that returned something older than the database had when the read started. */
export interface Violation {
  readonly phase: string;
  readonly id: number;
  readonly got: number | undefined;
  readonly before: RowState | undefined;
  readonly after: RowState | undefined;
  /** What the chain's first tier held for the id right after the read, to tell which tier served it. */
  readonly firstTier?: number | 'nothing';
}

export interface LoadOptions {
  /** Operations in all. @default 2000 */
  ops?: number;
  /** Operations in flight at most. @default 32 */
  concurrency?: number;
  /** Operations started per second, across all workers. @default 500 */
  rate?: number;
  /** Ids in play. @default 100 */
  ids?: number;
}

/** Rank-based percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drives `chain` over `db`. Switch `phase` while it runs to attribute latencies; `done` settles
 * once every operation finished (it never rejects).
 */
export class FaultLoad {
  phase = 'baseline';
  readonly errors: { phase: string; op: string; error: unknown }[] = [];
  readonly violations: Violation[] = [];
  readonly #latencies = new Map<string, number[]>();
  readonly #chain: Store;
  readonly #db: VersionedDatabase;
  readonly #ops: number;
  readonly #concurrency: number;
  readonly #pace: number;
  readonly #ids: number;
  #issued = 0;
  #stopped = false;
  done: Promise<void> = Promise.resolve();

  constructor(chain: ChainedStore, db: VersionedDatabase, options: LoadOptions = {}) {
    this.#chain = chain;
    this.#db = db;
    this.#ops = options.ops ?? 2000;
    this.#concurrency = options.concurrency ?? 32;
    this.#pace = (1000 * this.#concurrency) / (options.rate ?? 500);
    this.#ids = options.ids ?? 100;
  }

  /** Creates every document (through the chain) before the load starts. */
  async seed(): Promise<void> {
    const docs = Array.from({ length: this.#ids }, (_v, i) => new Doc(i + 1, slugOf(i + 1), 0, `body ${i + 1}`));
    for (let i = 0; i < docs.length; i += 20) await this.#chain.batchPut(docs.slice(i, i + 20));
  }

  start(): void {
    this.done = Promise.all(Array.from({ length: this.#concurrency }, (_v, w) => this.#worker(w))).then(() => undefined);
  }

  /** Lets operations in flight finish and starts no more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.done;
  }

  get issued(): number {
    return this.#issued;
  }

  figures(phase: string): PhaseFigures {
    const sorted = [...(this.#latencies.get(phase) ?? [])].sort((a, b) => a - b);
    return { ops: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
  }

  async #worker(w: number): Promise<void> {
    await sleep((this.#pace * w) / this.#concurrency); // spread the workers over one pace
    while (!this.#stopped && this.#issued < this.#ops) {
      this.#issued++;
      const started = performance.now();
      await this.#one();
      const spent = performance.now() - started;
      if (spent < this.#pace) await sleep(this.#pace - spent);
    }
  }

  #pick(): number {
    return 1 + Math.floor(Math.random() * this.#ids);
  }

  async #timed(op: string, call: () => Promise<unknown>): Promise<void> {
    const phase = this.phase;
    const started = performance.now();
    try {
      await call();
    } catch (error) {
      this.errors.push({ phase, op, error });
    }
    const list = this.#latencies.get(phase) ?? [];
    list.push(performance.now() - started);
    this.#latencies.set(phase, list);
  }

  /** Checks one read result against the database's state before and after the read. */
  #check(phase: string, id: number, got: Doc | undefined, before: RowState | undefined): void {
    const after = this.#db.state(id);
    const stale = got !== undefined && before !== undefined && got.version < before.version;
    const resurrected = got !== undefined && before === undefined && after?.deleted === true && got.version < after.version;
    // A miss is wrong only if the row existed, unchanged, for the whole read.
    const lost = got === undefined && before !== undefined && !before.deleted && after?.version === before.version;
    if (stale || resurrected || lost) {
      const first = this.#chain instanceof ChainedStore ? this.#chain.stores[0] : undefined;
      const held = first instanceof ProcessMemoryStore ? first.peek(Doc, { id }) : undefined;
      this.violations.push({ phase, id, got: got?.version, before, after, firstTier: held?.version ?? 'nothing' });
    }
  }

  async #one(): Promise<void> {
    const roll = Math.random();
    const phase = this.phase;
    if (roll < 0.6) {
      const id = this.#pick();
      const before = this.#db.state(id);
      const query = Math.random() < 0.5 ? { id } : { slug: slugOf(id) };
      await this.#timed('get', async () => this.#check(phase, id, await this.#chain.get(Doc, query), before));
    } else if (roll < 0.75) {
      const ids = [...new Set(Array.from({ length: 5 }, () => this.#pick()))];
      const before = ids.map((id) => this.#db.state(id));
      await this.#timed('batchGet', async () => {
        const got = await this.#chain.batchGet(Doc, ids.map((id) => ({ id })));
        ids.forEach((id, i) => this.#check(phase, id, got[i], before[i]));
      });
    } else if (roll < 0.95) {
      const id = this.#pick();
      await this.#timed('put', () => this.#chain.put(new Doc(id, slugOf(id), 0, `body ${id} @${Date.now()}`)));
    } else {
      const id = this.#pick();
      await this.#timed('delete', () => this.#chain.delete(new Doc(id, slugOf(id))));
    }
  }
}

/**
 * After everything settled: each id read from `store` (a cache tier on its own, or a chain) must be
 * the database's current version, or a miss; returns the ids where it is not.
 */
export async function staleEntries(store: Store, db: VersionedDatabase, ids: number): Promise<{ id: number; got: number; db: RowState | undefined }[]> {
  const all = Array.from({ length: ids }, (_v, i) => i + 1);
  const bad: { id: number; got: number; db: RowState | undefined }[] = [];
  const queries: KeyQuery<Doc>[][] = [all.map((id) => ({ id })), all.map((id) => ({ slug: slugOf(id) }))];
  for (const asked of queries) {
    const got = await store.batchGet(Doc, asked);
    all.forEach((id, i) => {
      const doc = got[i];
      const state = db.state(id);
      if (doc !== undefined && (state === undefined || state.deleted || doc.version !== state.version)) bad.push({ id, got: doc.version, db: state });
    });
  }
  return bad;
}

/** Polls `check` until it returns true; resolves with the ms it took, or rejects after `timeoutMs`. */
export async function timeUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** One fault: how to cause it, how long it lasts, how to end it. */
export interface FaultScenario {
  readonly name: string;
  inject(): void | Promise<void>;
  /** How long the fault lasts before `heal`, in ms. */
  readonly faultMs: number;
  heal(): void | Promise<void>;
}

/** What one scenario measured; see `describeResult`. */
export interface ScenarioResult {
  readonly name: string;
  readonly ops: number;
  readonly errors: FaultLoad['errors'];
  readonly violations: readonly Violation[];
  readonly baseline: PhaseFigures;
  readonly fault: PhaseFigures;
  readonly recovery: PhaseFigures;
  /** From `heal` until the tier served a read again. */
  readonly recoveredAfterMs: number;
  /** Tier failures the chain reported, and how often its breaker opened. */
  readonly tierErrors: number;
  readonly circuitOpens: number;
  /** Entries older than the database once all settled: in the tier itself, and seen by another process. */
  readonly staleInTier: number;
  readonly staleElsewhere: number;
  /** Entries older than the database another process saw right after the load, before the chain's next call replayed what it owed. */
  readonly staleBeforeSettle: number;
}

export interface ScenarioSetup {
  /** The cache tier under test, configured with its own deadline. */
  readonly tier: Store;
  /** Another store on the same server, as another process would open it, for the final check. */
  otherTier(): Store;
  /** The chain's deadline per tier call, in ms. */
  readonly tierTimeout: number;
  /** The breaker's reset period, in ms. */
  readonly resetAfter: number;
  readonly load?: LoadOptions;
  /** How long the load runs before the fault, in ms. @default 600 */
  readonly baselineMs?: number;
  /** How long recovery may take before the scenario fails, in ms. @default 15_000 */
  readonly recoveryTimeoutMs?: number;
}

/**
 * Runs one fault under load through [ProcessMemoryStore (max 20 entries, so most reads go down),
 * the tier, a VersionedDatabase]: baseline, fault, recovery (until the tier serves reads again),
 * then checks that neither the tier nor another process's view of it holds anything stale.
 */
export async function runFaultScenario(setup: ScenarioSetup, scenario: FaultScenario): Promise<ScenarioResult> {
  const db = new VersionedDatabase();
  const memory = new ProcessMemoryStore({ max: 20 });
  const { tier, tierTimeout, resetAfter } = setup;
  const chain = new ChainedStore([memory, tier, db], { tierTimeout, breaker: { failureThreshold: 3, resetAfter } });
  let tierErrors = 0;
  let circuitOpens = 0;
  chain.on('error', (e: StoreEvent) => void (e.store === tier.name && tierErrors++));
  chain.on('circuit', (e) => void (e.state === 'open' && circuitOpens++));
  let lastHitAt = 0;
  const onHit = (): void => void (lastHitAt = performance.now());
  tier.on('hit', onHit);
  const ids = setup.load?.ids ?? 100;
  const ops = setup.load?.ops ?? 2000;
  const baselineMs = setup.baselineMs ?? 600;
  // Paced so the ops last through baseline, fault and about two seconds of recovery, at no more than
  // 500 ops/s: past that a 2-core machine measures its own saturation, not the tier's deadline.
  const rate = setup.load?.rate ?? Math.min(500, Math.max(100, Math.round(ops / ((baselineMs + scenario.faultMs + 2500) / 1000))));
  const load = new FaultLoad(chain, db, { ...setup.load, ids, ops, rate });
  const other = setup.otherTier();
  try {
    await load.seed();
    load.start();
    await sleep(baselineMs);
    load.phase = 'fault';
    await scenario.inject();
    await sleep(scenario.faultMs);
    await scenario.heal();
    const healedAt = performance.now();
    load.phase = 'recovery';
    const recoveredAfterMs = await timeUntil(() => lastHitAt > healedAt, setup.recoveryTimeoutMs ?? 15_000, `${scenario.name}: the tier serving reads again`);
    await load.done;
    // What another process sees before this chain calls the tier again: the residual window.
    const staleBeforeSettle = (await staleEntries(other, db, ids)).length;
    // Invalidations the chain still owes the tier are replayed on its next call that reaches it
    // (an open breaker skips calls): settle with calls until one reached the tier without failing.
    let reached = false;
    tier.on('miss', onReach).on('hit', onReach);
    function onReach(): void {
      reached = true;
    }
    for (let attempt = 0; ; attempt++) {
      reached = false;
      const failedBefore = tierErrors;
      await chain.batchGet(Doc, Array.from({ length: ids }, (_v, i) => ({ id: i + 1 })));
      if (reached && tierErrors === failedBefore) break;
      if (attempt >= 20) throw new Error(`${scenario.name}: the chain never reached the tier again after the load`);
      await sleep(resetAfter);
    }
    tier.off('miss', onReach).off('hit', onReach);
    const staleInTier = (await staleEntries(tier, db, ids)).length;
    const staleElsewhere = (await staleEntries(new ChainedStore([other, db]), db, ids)).length;
    return {
      name: scenario.name,
      ops: load.issued,
      errors: load.errors,
      violations: load.violations,
      baseline: load.figures('baseline'),
      fault: load.figures('fault'),
      recovery: load.figures('recovery'),
      recoveredAfterMs,
      tierErrors,
      circuitOpens,
      staleInTier,
      staleElsewhere,
      staleBeforeSettle,
    };
  } finally {
    await load.stop();
    tier.off('hit', onHit);
    await Promise.all([chain.release(), other.release()]);
  }
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');

/** One line per scenario, for the README: ops, failures, latencies per phase, recovery. */
export function describeResult(server: string, r: ScenarioResult): string {
  const f = (p: PhaseFigures): string => `p50 ${ms(p.p50)} / p99 ${ms(p.p99)} / max ${ms(p.max)} ms (${p.ops} ops)`;
  return (
    `${server} — ${r.name}: ${r.ops} ops, ${r.errors.length} caller errors, ${r.violations.length} stale reads, ` +
    `${r.staleInTier + r.staleElsewhere} stale entries after settling (${r.staleBeforeSettle} before the chain's next call); baseline ${f(r.baseline)}; fault ${f(r.fault)}; ` +
    `recovery ${f(r.recovery)}; tier served again ${ms(r.recoveredAfterMs)} ms after healing; ` +
    `${r.tierErrors} tier errors reported, breaker opened ${r.circuitOpens}x`
  );
}

/**
 * Holds `db`'s next batchGet after it has read its rows (so it answers with what the database had
 * when it was asked) until `release` is called; `read` settles once those rows are read, so a test
 * can order a write after the read without guessing how long the tiers above take.
 */
export function holdNextRead(db: VersionedDatabase): { read: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  let signalRead = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const readDone = new Promise<void>((resolve) => (signalRead = resolve));
  const batchGet = db.batchGet.bind(db);
  db.batchGet = async (cls, queries) => {
    db.batchGet = batchGet;
    const rows = await batchGet(cls, queries);
    signalRead();
    await gate;
    return rows;
  };
  return { read: readDone, release };
}
