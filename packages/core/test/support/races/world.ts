import type fc from 'fast-check';
import {
  ChainedStore,
  KeyBuilder,
  ProcessMemoryStore,
  TierUnavailableError,
  TimeoutError,
  getMetadata,
  type CacheStoreOptions,
  type CacheTier,
  type Class,
  type KeyQuery,
  type TierLookup,
} from '@stockpyle/core';
import { MemoryBusHub, type MemoryBus, type MemoryDelivery } from '@stockpyle/core/testing';
import { Item, RefusedError, ScheduledDatabase, type ItemQuery } from './database';
import { Gates, opContext, type FakeClock, type Receipt } from './gates';
import { ReadObservation } from '../../../src/fill-condition';

export type Kind = 'memcached' | 'redis';

/** A shared server as the scenarios see it, fake or real. */
export interface ServerHandle {
  readonly name: string;
  readonly up: boolean;
  /** Down, data lost. */
  crash(): void | Promise<void>;
  /** Down, data kept. */
  cutOff(): void | Promise<void>;
  restart(): void | Promise<void>;
}

/**
 * Where the shared tiers come from: Map-backed fakes in the unit suites, real memcached or Redis in
 * the integration suites. The same scenarios run over any kit.
 */
export interface TierKit {
  readonly name: string;
  /** The backend kinds to draw for `n` shared tiers (a real kit has one kind). */
  kinds(n: number): fc.Arbitrary<Kind[]>;
  /** Fresh servers (or a fresh key prefix) for one schedule. */
  open(world: World, kinds: readonly Kind[]): Promise<ServerHandle[]> | ServerHandle[];
  /** One process's clients of the schedule's servers, fastest first. */
  tiers(world: World, proc: string, options: CacheStoreOptions): CacheTier[];
  /** Called as the fake clock moves, for servers whose own clock cannot be moved. */
  expire?(world: World): Promise<void>;
  close(world: World): Promise<void>;
}

/**
 * How a tier departs from the protocol, to show that the checks catch the naive design:
 * - `set`: fills and commits are plain sets;
 * - `no-drop`: fills are never dropped as too late;
 * - `fill-reservation`: a fill replaces a reservation its read saw (a write's database call in flight);
 * - `fill-any-tomb`: a fill replaces whatever settled tombstone is there when it lands, not the one its read saw;
 * - `keep-misses`: an insert made outside the chain is not invalidated (remembered misses outlive it).
 * - `clear-fill-gen`: a fill writes under the class generation current when it lands, not the one its read saw;
 * - `clear-top-first`: `chain.clear` clears the fastest tier first (a read may then refill it from a tier not yet cleared).
 */
export type Naive = 'set' | 'no-drop' | 'fill-reservation' | 'fill-any-tomb' | 'keep-misses' | 'no-resync' | 'bus-delete' | 'clear-fill-gen' | 'clear-top-first';

/** What the bus did over all schedules of a run (coverage figures for the bus scenario). */
export const busCounts = { messages: 0, lost: 0, duplicated: 0, resyncs: 0 };

/**
 * What happens to one bus message (in the order they are published): delivered when the scheduler
 * says, lost (the receiver's link then drops and comes back, as a real bus reports a loss), or
 * delivered twice.
 */
export type BusFate = 'deliver' | 'lose' | 'duplicate';

/** A process-memory tier that remembers which objects it handed out. */
export class TrackedMemory extends ProcessMemoryStore {
  readonly served = new WeakSet<object>();

  override peek<T extends object>(cls: Class<T>, query: KeyQuery<T>): T | undefined {
    const found = super.peek(cls, query);
    if (found !== undefined) this.served.add(found);
    return found;
  }

  override async lookup<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<TierLookup<T>> {
    const answer = await super.lookup(cls, queries);
    for (const obj of answer.found) if (obj !== undefined) this.served.add(obj);
    return answer;
  }
}

/** One application process: its own memory tier, its clients of the shared tiers, its chain. */
export interface Proc {
  readonly name: string;
  readonly memory: TrackedMemory;
  readonly shared: readonly CacheTier[];
  readonly chain: ChainedStore;
  /** Per object id, the history index of this process's latest write of it that has returned. */
  readonly lastOwn: Map<number, number>;
  readonly naive: Naive | undefined;
  /** Its end of the world's bus, when it has one. */
  readonly bus: MemoryBus | undefined;
}

export interface ProcOptions {
  lifetime?: boolean;
  /** Every tier remembers misses (`missLifetime` 30 s). */
  misses?: boolean;
  /** Every tier takes fill leases (`fillLease`, waiting 1 ms). */
  lease?: boolean;
  naive?: Naive;
  /** Give the chain a bus on the world's hub (`no-resync`: it does not clear on `connected`). */
  bus?: boolean;
}

/**
 * Everything one schedule runs against: the database, the shared servers, the processes. Reads
 * and writes go through it so that each read is checked against the database's history when it
 * returns, and `settle` checks invariant 1 (docs/ARCHITECTURE.md) in every tier at the end.
 */
export class World {
  readonly gates: Gates;
  readonly db: ScheduledDatabase;
  readonly procs: Proc[] = [];
  readonly problems: string[] = [];
  servers: ServerHandle[] = [];
  kinds: readonly Kind[] = [];
  /** The processes' bus; each delivery is released by the scheduler. */
  readonly hub = new MemoryBusHub({ deliveries: (d) => this.#deliver(d) });
  /** The fates of successive bus messages (then: delivered). */
  busFates: BusFate[] = [];
  #versions = 0;
  #events = 0;
  #circuitOpened = false;
  /** History index at the start of each operation running, per process. */
  readonly #running = new Map<Proc, Set<{ readonly from: number; readonly startedAt?: number; readonly keys?: ReadonlySet<string> }>>();
  /** Writes running, by the ids they write. */
  readonly #writing = new Set<{ readonly ids: ReadonlySet<number>; readonly receipt: Receipt }>();
  /** Invalidations a process missed on a shared tier because a call failed, and since when. */
  readonly #owed: { readonly proc: Proc; readonly since: number }[] = [];

  constructor(
    readonly clock: FakeClock,
    readonly kit: TierKit,
  ) {
    this.gates = new Gates(clock);
    this.db = new ScheduledDatabase(this.gates);
    if (kit.expire !== undefined) this.gates.afterTravel = () => kit.expire!(this);
  }

  async open(kinds: readonly Kind[]): Promise<void> {
    this.kinds = kinds;
    this.servers = await this.kit.open(this, kinds);
  }

  /** A version tag never used before in this schedule. */
  version(): string {
    return `v${++this.#versions}`;
  }

  item(id: number, zap: number, ttl?: number): Item {
    return new Item(id, zap, 'b', this.version(), ttl);
  }

  addProc(options: ProcOptions = {}): Proc {
    const name = `p${this.procs.length}`;
    const cacheOptions: CacheStoreOptions = {
      ...(options.lifetime ? { lifetime: (obj: object) => (obj as Item).ttl } : {}),
      ...(options.misses ? { missLifetime: 30 } : {}),
      ...(options.lease ? { fillLease: { wait: 1 } } : {}),
    };
    // A schedule touches a few dozen keys; lru-cache allocates `max` slots up front.
    const memory = new TrackedMemory({ ...cacheOptions, name: `memory@${name}`, max: 64 });
    const shared = this.kit.tiers(this, name, cacheOptions);
    if (options.naive !== undefined) for (const tier of [memory, ...shared]) makeNaive(tier, options.naive);
    // Deadlines are real time and the schedules never sleep: a generous one keeps them out of the way.
    // Background replays run on a real timer, outside the scheduler: off, so that no call of a finished
    // schedule lands on its fakes later (missed invalidations are replayed at the next call, as modelled).
    const bus = options.bus === true ? this.hub.bus({ name: `bus@${name}` }) : undefined;
    // The naive bus: what other processes sent while it was away is never dropped.
    if (options.naive === 'no-resync') memory.clear = () => Promise.resolve();
    // The naive receiver: removes what others changed, so a fill of an older read can `add` it back.
    if (options.naive === 'bus-delete') {
      const ids = new KeyBuilder();
      const raw = memory as unknown as { removeRaw(keys: readonly string[]): Promise<void> };
      memory.settleKeys = (keys) => void raw.removeRaw(keys.flatMap((k) => k.split(' ')).map((k) => ids.relativeKey(k)));
    }
    const chain = new ChainedStore([memory, ...shared, this.db], { name, tierTimeout: 600_000, replayInterval: 0, bus });
    if (options.naive === 'clear-top-first') {
      chain.clear = async (cls) => {
        for (const tier of [memory, ...shared]) await tier.clear(cls);
        // As the chain tells other processes (chain-bus.ts, CLEAR_PREFIX): only the order is naive.
        bus?.publish([`#clear:${getMetadata(cls).name}`]);
      };
    }
    const proc: Proc = { name, memory, shared, chain, lastOwn: new Map(), naive: options.naive, bus };
    chain.on('circuit', (e) => {
      if (e.state === 'open') this.#circuitOpened = true;
    });
    chain.on('error', (e) => {
      if (e.operation === 'batchGet') return;
      let since = this.db.seq;
      for (const op of this.#running.get(proc) ?? []) since = Math.min(since, op.from);
      this.#owed.push({ proc, since });
    });
    this.procs.push(proc);
    this.#running.set(proc, new Set());
    return proc;
  }

  /** Time passing as one scheduled step, as far as the network bound allows. */
  tick(ms: number): Promise<void> {
    return this.gates.exclusive(`tick +${ms}ms`, async () => {
      if (this.gates.advance(ms)) await this.kit.expire?.(this);
    });
  }

  /** Reads through `proc`'s chain (`get`s in one tick, or one `batchGet`) and checks each answer. */
  async read(proc: Proc, queries: readonly ItemQuery[], batch = false): Promise<void> {
    const from = this.db.seq;
    const startedAt = ++this.#events;
    const own = new Map(proc.lastOwn);
    // The chain shares a read of the same key already in flight in this process (single-flight):
    // such a read answers as of the shared read's start, which may precede this one's.
    // It also answers as of that read's start event: a write another process finished between the
    // two starts may not be visible to it (only this process's own writes stop the sharing).
    const joined = queries.map((q) => {
      let since = from;
      let first = startedAt;
      for (const op of this.#running.get(proc)!) {
        if (!op.keys?.has(show(q))) continue;
        since = Math.min(since, op.from);
        first = Math.min(first, op.startedAt ?? first);
      }
      return { since, first };
    });
    const running = { from, startedAt, keys: new Set(queries.map(show)) };
    this.#running.get(proc)!.add(running);
    let found: (Item | undefined)[];
    try {
      found = batch ? await proc.chain.batchGet(Item, queries) : await Promise.all(queries.map((q) => proc.chain.get(Item, q)));
    } catch (error) {
      this.problems.push(`${proc.name} read ${queries.map(show).join(' ')} threw ${String(error)}`);
      return;
    } finally {
      this.#running.get(proc)!.delete(running);
    }
    const to = this.db.seq;
    found.forEach((obj, i) => this.#checkRead(proc, queries[i]!, obj, { from, to, startedAt: joined[i]!.first, joined: joined[i]!.since }, own));
  }

  /** A write-through of `items` by `proc`; `faulted` makes its raw operations count for the fault plan. */
  write(proc: Proc, items: readonly Item[], faulted = false): Promise<void> {
    return this.#own(proc, items, { faulted, invalidatesAfter: false }, () => proc.chain.batchPut(items));
  }

  remove(proc: Proc, items: readonly Item[], faulted = false): Promise<void> {
    // The chain deletes from the database first and tombstones the caches after.
    return this.#own(proc, items, { faulted, invalidatesAfter: true }, () => proc.chain.batchDelete(items));
  }

  /** A write that bypasses the chain, followed by the chain's invalidation, as an ORM subscriber does. */
  external(proc: Proc, items: readonly Item[], kind: 'put' | 'delete', faulted = false): Promise<void> {
    return this.#own(proc, items, { faulted, invalidatesAfter: true }, async () => {
      // Only the invalidation can be faulted: a commit whose outcome the application never learns
      // is invalidated by nobody, which no cache protocol can help (lifetimes bound it).
      const context = opContext.getStore()!;
      const write = (): Promise<void> => (kind === 'put' ? this.db.batchPut(items) : this.db.batchDelete(items));
      const inserts = items.some((item) => item.id === undefined);
      await opContext.run({ ...context, faulted: false }, write);
      if (inserts && proc.naive === 'keep-misses') return;
      await proc.chain.invalidate(items);
    });
  }

  /** A bulk change the ORM does not see (`nativeUpdate`, raw SQL), then `chain.clear(Item)`. */
  bulk(proc: Proc, items: readonly Item[]): Promise<void> {
    return this.#own(proc, items, { faulted: false, invalidatesAfter: true }, async () => {
      await this.db.batchPut(items);
      await proc.chain.clear(Item);
    });
  }

  /**
   * Invariant 1 once everything has returned: every shared tier answers every key the database
   * ever had with the database's current object or nothing; each process's memory tier, with
   * nothing older than that process's own latest write (other processes cannot reach it).
   */
  async settle(): Promise<void> {
    this.gates.scheduler = undefined;
    this.gates.plan = undefined;
    for (const server of this.servers) if (!server.up) await server.restart();
    // A chain replays invalidations a tier missed before it trusts it again; an open circuit
    // first has to let a trial call through.
    if (this.#circuitOpened) this.clock.now += 1_001;
    for (const proc of this.procs) await proc.chain.get(Item, { id: 0 });
    // Quiescence of the bus: every link up again (a resync), every message in flight delivered.
    for (const bus of this.hub.buses) if (!bus.linked) this.hub.reconnect(bus);
    while (this.hub.pending.length > 0) this.hub.deliverAll();
    await this.kit.expire?.(this);
    const queries = this.#everyKey();
    const current = this.db.seq;
    const check = async (tier: CacheTier, proc: Proc | undefined): Promise<void> => {
      for (const q of queries) {
        const obj = await tier.get(Item, q);
        if (obj === undefined) continue;
        // Without a bus another process's write cannot reach this process's memory; with one, it must.
        const lo = proc === undefined || this.procs.length === 1 || proc.bus !== undefined ? current : (proc.lastOwn.get(obj.id) ?? 0);
        if (!this.#wasAnswer(q, obj, lo, current)) {
          this.problems.push(`after settling, ${tier.name} answers ${show(q)} with ${describe(obj)}; database: ${describeRow(this.db.answerAt(current, q))}`);
        }
      }
    };
    for (const proc of this.procs) await check(proc.memory, proc);
    if (this.procs.length > 0) for (const tier of this.procs[0]!.shared) await check(tier, undefined);
    // Remembered misses: no tier may answer "absent" for a key the database has.
    const tiers = [...this.procs.map((p) => p.memory), ...(this.procs[0]?.shared ?? [])];
    for (const tier of tiers) {
      const { absent } = await tier.lookup(Item, queries);
      queries.forEach((q, i) => {
        const row = this.db.answerAt(current, q);
        if (absent?.[i] === true && row !== undefined) this.problems.push(`after settling, ${tier.name} remembers ${show(q)} as absent; database: ${describeRow(row)}`);
      });
    }
  }

  /**
   * Liveness, after `settle`: once tombstones have expired, a fill of the database's object makes
   * every tier that answers a key with nothing answer it (a miss is always safe, but a key that can
   * never be cached again is a bug too).
   */
  async refill(): Promise<void> {
    this.clock.now += 60_000;
    await this.kit.expire?.(this);
    const current = this.db.seq;
    const tiers = [...this.procs.map((p) => p.memory), ...(this.procs[0]?.shared ?? [])];
    for (const q of this.#everyKey()) {
      const row = this.db.answerAt(current, q);
      if (row === undefined) continue;
      for (const tier of tiers) {
        if ((await tier.get(Item, q)) !== undefined) continue; // what it answers, settle has checked
        // A memory tier may keep a version another process has overwritten (settle allows it): it is
        // filled again once that version's lifetime ends, not before.
        const held = await tier.get(Item, { id: row.id });
        if (held !== undefined && held.version !== row.version) continue;
        // As a chain fills: after a lookup of this tier, which saw the class's generation.
        const { observed } = await tier.lookup(Item, [q]);
        await tier.fill([new Item(row.id, row.zap, row.bar, row.version, row.ttl)], Date.now(), observed);
        const obj = await tier.get(Item, q);
        if (obj?.version !== row.version) this.problems.push(`after a fill of ${describe(row)}, ${tier.name} answers ${show(q)} with ${obj === undefined ? 'nothing' : describe(obj)}`);
      }
    }
  }

  async close(): Promise<void> {
    this.gates.scheduler = undefined;
    await Promise.all(this.procs.map((p) => p.chain.release()));
    await Promise.all(this.hub.buses.map((b) => b.release()));
    await this.kit.close(this);
  }

  /** A bus message to one process: released by the scheduler (in any order), lost or duplicated as `busFates` says. */
  #deliver(delivery: MemoryDelivery): void {
    const s = this.gates.scheduler;
    if (s === undefined) {
      queueMicrotask(() => delivery.deliver());
      return;
    }
    const fate = this.busFates.shift() ?? 'deliver';
    busCounts.messages++;
    if (fate === 'lose') {
      busCounts.lost++;
      // A real bus learns of a loss by its link breaking: the receiver is told, and resyncs when it is back.
      delivery.drop();
      this.hub.disconnect(delivery.to);
      void s.schedule(Promise.resolve(), `bus reconnect ${delivery.to.name}`).then(() => this.hub.reconnect(delivery.to));
      return;
    }
    if (fate === 'duplicate') busCounts.duplicated++;
    const copies = fate === 'duplicate' ? [delivery, delivery.duplicate()] : [delivery];
    for (const d of copies) void s.schedule(Promise.resolve(), `bus deliver to ${d.to.name}`).then(() => d.deliver());
  }

  async #own(proc: Proc, items: readonly Item[], how: { faulted: boolean; invalidatesAfter: boolean }, write: () => Promise<void>): Promise<void> {
    const { faulted } = how;
    const receipt: Receipt = { invalidatesAfter: how.invalidatesAfter, contested: false, doneAt: Infinity };
    const running = { from: this.db.seq };
    this.#running.get(proc)!.add(running);
    const writing = { ids: new Set(items.map((i) => i.id)), receipt };
    for (const other of this.#writing) {
      if (items.some((i) => other.ids.has(i.id))) other.receipt.contested = receipt.contested = true;
    }
    this.#writing.add(writing);
    try {
      await opContext.run({ faulted, receipt }, write);
    } catch (error) {
      // A rollback is an answer, not a failure; an injected fault may surface from the database.
      const injected = faulted && (error instanceof TierUnavailableError || error instanceof TimeoutError);
      if (!(error instanceof RefusedError) && !injected) {
        this.problems.push(`${proc.name} write of ${items.map(describe).join(', ')} threw ${String(error)}`);
      }
    }
    this.#running.get(proc)!.delete(running);
    this.#writing.delete(writing);
    receipt.doneAt = ++this.#events;
    if (receipt.seq !== undefined) {
      for (const item of items) proc.lastOwn.set(item.id, Math.max(proc.lastOwn.get(item.id) ?? 0, receipt.seq));
    }
  }

  #checkRead(proc: Proc, q: ItemQuery, obj: Item | undefined, read: ReadWindow, own: ReadonlyMap<number, number>): void {
    const { to } = read;
    if (obj === undefined) return;
    if (!(obj instanceof Item)) {
      this.problems.push(`${proc.name} read ${show(q)} and got a ${typeof obj}, not an Item`);
      return;
    }
    // Another process's write cannot reach this process's memory: there, anything this process
    // has not itself overwritten may still be served (bounded by lifetimes, docs/ARCHITECTURE.md, invariant 4).
    const relaxed = this.procs.length > 1 && proc.memory.served.has(obj);
    let lo = relaxed ? Math.min(read.joined, own.get(obj.id) ?? 0) : read.joined;
    // A shared tier that missed another process's invalidation (a call failed, or timed out and
    // landed later) may serve what that process was overwriting, until that process next uses the
    // tier: it replays what it missed first. Its own reads are not affected; other processes' are.
    for (const owed of this.#owed) if (owed.proc !== proc) lo = Math.min(lo, owed.since);
    if (this.#wasAnswer(q, obj, lo, to) || this.#stillVisible(q, obj, read)) return;
    const window = [];
    for (let k = lo; k <= to; k++) window.push(describeRow(this.db.answerAt(k, q)));
    this.problems.push(`${proc.name} read ${show(q)} -> ${describe(obj)}, but while it ran the database answered ${window.join(' then ')}`);
  }

  /**
   * Whether `obj` was the answer to `q` in a state before the read began whose every later change
   * to that answer was not yet visible when it began: a change is not, while the operation that made
   * it has not returned, if that operation invalidates the caches only after the database or raced
   * another write of the same object. Every other write is visible from its database commit on: it
   * reserved the caches first.
   */
  #stillVisible(q: ItemQuery, obj: Item, read: ReadWindow): boolean {
    for (let k = read.from - 1; k >= 0; k--) {
      const before = this.db.answerAt(k, q);
      const after = this.db.answerAt(k + 1, q);
      if (before?.id !== after?.id || before?.version !== after?.version) {
        const by = this.db.producedBy[k + 1];
        if (by === undefined || !(by.invalidatesAfter || by.contested) || by.doneAt < read.startedAt) return false;
      }
      if (before?.id === obj.id && before.version === obj.version) return true;
    }
    return false;
  }

  #wasAnswer(q: ItemQuery, obj: Item, lo: number, hi: number): boolean {
    for (let k = lo; k <= hi; k++) {
      const row = this.db.answerAt(k, q);
      if (row !== undefined && row.id === obj.id && row.version === obj.version) return true;
    }
    return false;
  }

  /** Every id and every (zap, bar) the database has ever held. */
  #everyKey(): ItemQuery[] {
    const ids = new Set<number>();
    const pairs = new Map<string, { zap: number; bar: string }>();
    for (const rows of this.db.history) {
      for (const row of rows.values()) {
        ids.add(row.id);
        pairs.set(`${row.zap}:${row.bar}`, { zap: row.zap, bar: row.bar });
      }
    }
    return [...[...ids].map((id) => ({ id })), ...pairs.values()];
  }
}

/** A read's place in the database's history: the states at its start and end, and its start event. */
interface ReadWindow {
  readonly from: number;
  readonly to: number;
  readonly startedAt: number;
  /** The start (database state) of the earliest read in flight of the same key this read may have joined. */
  readonly joined: number;
}

/** Replaces part of the protocol with a naive design (see `Naive`). */
export function makeNaive(tier: CacheTier, how: Naive): void {
  const fill = tier.fill.bind(tier);
  const lookup = tier.lookup.bind(tier);
  switch (how) {
    case 'set':
      tier.fill = (objs) => tier.batchPut(objs);
      tier.commit = (objs) => tier.batchPut(objs);
      break;
    case 'no-drop':
      tier.fill = (objs, _readStartedAt, observed) => fill(objs, Date.now(), observed);
      break;
    case 'fill-reservation':
      tier.lookup = async (cls, queries) => {
        const answer = await lookup(cls, queries);
        const observed = answer.observed as ReadObservation<unknown>;
        const at = observed.at.bind(observed);
        observed.at = (key) => {
          const read = observed.seen(key);
          return read?.record?.kind === 'tomb' ? { mode: 'swap', expected: read.raw, version: read.version } : at(key);
        };
        return answer;
      };
      break;
    case 'clear-fill-gen':
      tier.fill = async (objs, readStartedAt, observed) => {
        const again = await lookup(Item, (objs as Item[]).map((o) => ({ id: o.id })));
        if (observed instanceof ReadObservation) observed.classGen = (again.observed as ReadObservation<unknown>).classGen;
        return fill(objs, readStartedAt, observed);
      };
      break;
    case 'clear-top-first':
      break; // the chain's clear (addProc)
    case 'fill-any-tomb':
      // Looks again when the fill lands, and swaps whatever it finds then.
      tier.fill = async (objs, readStartedAt) => {
        const again = await lookup(Item, (objs as Item[]).map((o) => ({ id: o.id })));
        return fill(objs, readStartedAt, again.observed);
      };
      break;
    case 'keep-misses':
    case 'no-resync':
    case 'bus-delete':
      break; // see World.external, World.addProc
  }
}

export function show(q: ItemQuery): string {
  return 'id' in q ? `{id:${q.id}}` : `{zap:${q.zap},bar:${q.bar}}`;
}

function describe(obj: { id: number; zap: number; version: string }): string {
  return `${obj.version}(id ${obj.id}, zap ${obj.zap})`;
}

function describeRow(row: { id: number; zap: number; version: string } | undefined): string {
  return row === undefined ? 'nothing' : describe(row);
}
