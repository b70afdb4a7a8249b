import fc from 'fast-check';
import type { Item, ItemQuery } from './database';
import type { ScenarioParams, Scenario } from './runner';
import { busCounts, type BusFate, type Proc, type World } from './world';

/** A read in a scenario: by which key, as a `get` or a `batchGet`, and whether it waits for the writes. */
export interface ReadSpec {
  readonly by: 'id' | 'alt';
  readonly batch: boolean;
  readonly afterWrites: boolean;
}

export const readSpec: fc.Arbitrary<ReadSpec> = fc.record({
  by: fc.constantFrom<'id' | 'alt'>('id', 'alt'),
  batch: fc.boolean(),
  afterWrites: fc.boolean(),
});

export type WriteKind = 'put' | 'delete' | 'external-put' | 'external-delete';
export const writeKind = fc.constantFrom<WriteKind>('put', 'delete', 'external-put', 'external-delete');

/** Where the seeded object starts: only in the database, or also in the shared tiers, or everywhere. */
export type Prefill = 'none' | 'shared' | 'all';
export const prefill = fc.constantFrom<Prefill>('none', 'shared', 'all');

/**
 * Runs reads and writes concurrently: each starts when the scheduler says; reads marked
 * `afterWrites` start once every write has returned, so they see whether a late effect survived.
 */
export function launch(
  world: World,
  writes: readonly (() => Promise<void>)[],
  reads: readonly (() => Promise<void>)[],
  after: readonly (() => Promise<void>)[],
  others: readonly (() => Promise<void>)[] = [],
): Promise<unknown>[] {
  const gated = (label: string, op: () => Promise<void>): Promise<void> => world.gates.start(label).then(op);
  const writing = writes.map((w, i) => gated(`start write ${i}`, w));
  const reading = reads.map((r, i) => gated(`start read ${i}`, r));
  const settled = Promise.allSettled(writing);
  const later = after.map((r, i) => settled.then(() => gated(`start late read ${i}`, r)));
  return [...writing, ...reading, ...later, ...others.map((o) => o())];
}

/** Moves the fake clock by each step in turn, as far as the network bound allows at that moment. */
export function ticks(world: World, steps: readonly number[]): () => Promise<void> {
  return async () => {
    for (const step of steps) await world.tick(step);
  };
}

export const tickSteps = fc.array(fc.constantFrom(400, 1_000, 2_600, 5_001, 20_000), { minLength: 1, maxLength: 4 });

/** How long successive messages travel (see `Gates.delays`): mostly no time, sometimes a lot. */
export const travelTimes = fc.array(fc.constantFrom(0, 0, 0, 100, 450, 1_000, 2_600, 5_001), { minLength: 1, maxLength: 24 });

/** Lets time pass while messages travel, within the network bound. */
export function travel(world: World, delays: readonly number[]): void {
  world.gates.delays = delays;
}

/** Turns read specs into read operations of object `id` (whose alternate key is (zap, 'b')). */
export function reads(world: World, proc: Proc, specs: readonly ReadSpec[], id: number, zap: number): [(() => Promise<void>)[], (() => Promise<void>)[]] {
  const now: (() => Promise<void>)[] = [];
  const later: (() => Promise<void>)[] = [];
  for (const spec of specs) {
    const q: ItemQuery = spec.by === 'id' ? { id } : { zap, bar: 'b' };
    (spec.afterWrites ? later : now).push(() => world.read(proc, [q], spec.batch));
  }
  return [now, later];
}

/** One write of object `id` by `proc`, of the given kind, to a new version with alternate key `zap`. */
export function writeOp(world: World, proc: Proc, kind: WriteKind, id: number, zap: number, ttl?: number): () => Promise<void> {
  const next = world.item(id, zap, ttl);
  switch (kind) {
    case 'put':
      return () => world.write(proc, [next]);
    case 'delete':
      return () => world.remove(proc, [next]);
    case 'external-put':
      return () => world.external(proc, [next], 'put');
    case 'external-delete':
      return () => world.external(proc, [next], 'delete');
  }
}

/** Seeds the database with `items` and copies them into the tiers `where` says. */
export async function seed(world: World, proc: Proc, where: Prefill, ...items: ReturnType<World['item']>[]): Promise<void> {
  world.db.seed(items);
  if (where === 'none') return;
  for (const tier of where === 'all' ? [proc.memory, ...proc.shared] : proc.shared) await tier.batchPut(items);
}

interface StaleSetParams extends ScenarioParams {
  readonly lease: boolean;
  readonly prefill: Prefill;
  readonly write: WriteKind;
  readonly reads: readonly ReadSpec[];
}

/**
 * 1. Stale set: reads miss and go to the database while a writer commits and invalidates; the
 * readers' fills land whenever the schedule lets them, possibly after the writer is done.
 */
export const staleSet: Scenario<StaleSetParams> = {
  name: 'stale set',
  params: (kit) =>
    fc.record({ kinds: kit.kinds(1), lease: fc.boolean(), prefill, write: writeKind, reads: fc.array(readSpec, { minLength: 1, maxLength: 3 }) }),
  async setup(world, p, naive) {
    const proc = world.addProc({ naive, lease: p.lease });
    await seed(world, proc, p.prefill, world.item(1, 1));
    const [now, later] = reads(world, proc, p.reads, 1, 1);
    return () => launch(world, [writeOp(world, proc, p.write, 1, 1)], now, later);
  },
};

interface ReverseWritersParams extends ScenarioParams {
  readonly twoProcesses: boolean;
  readonly lease: boolean;
  readonly prefill: Prefill;
  readonly writes: readonly ['put' | 'delete', 'put' | 'delete'];
  readonly zaps: readonly [number, number];
  readonly reads: readonly ReadSpec[];
}

/**
 * 2. Two writers of one object (in one process or two) whose cache writes arrive in either order,
 * with or without changing the alternate key, with reads in between and after.
 */
export const reverseWriters: Scenario<ReverseWritersParams> = {
  name: 'reverse writers',
  params: (kit) =>
    fc.record({
      kinds: kit.kinds(1),
      twoProcesses: fc.boolean(),
      lease: fc.boolean(),
      prefill,
      writes: fc.tuple(fc.constantFrom<'put' | 'delete'>('put', 'put', 'delete'), fc.constantFrom<'put' | 'delete'>('put', 'put', 'delete')),
      zaps: fc.tuple(fc.constantFrom(1, 2), fc.constantFrom(1, 3)),
      reads: fc.array(readSpec, { maxLength: 2 }),
    }),
  async setup(world, p, naive) {
    const a = world.addProc({ naive, lease: p.lease });
    const b = p.twoProcesses ? world.addProc({ naive, lease: p.lease }) : a;
    await seed(world, a, p.prefill, world.item(1, 1));
    const writes = [writeOp(world, a, p.writes[0], 1, p.zaps[0]), writeOp(world, b, p.writes[1], 1, p.zaps[1])];
    const [now, later] = reads(world, a, p.reads, 1, 1);
    return () => launch(world, writes, now, later);
  },
};

interface OutlivedParams extends ScenarioParams {
  readonly prefill: Prefill;
  readonly write: WriteKind;
  readonly ttl: number | undefined;
  readonly reads: readonly ReadSpec[];
  readonly ticks: readonly number[];
  readonly delays: readonly number[];
}

/**
 * 3. A fill that outlives an invalidation marker: the clock moves while reads are in flight
 * (database queries may take any time, other calls answer within the network bound), past the
 * tombstones' lifetime and the objects' own lifetimes.
 */
export const outlivedTombstone: Scenario<OutlivedParams> = {
  name: 'outlived tombstone',
  params: (kit) =>
    fc.record({
      kinds: kit.kinds(1),
      prefill,
      ttl: fc.constantFrom(undefined, 1, 1, 2, 30),
      write: fc.constantFrom<WriteKind>('put', 'put', 'delete', 'external-put', 'external-delete'),
      reads: fc.array(readSpec, { minLength: 1, maxLength: 3 }),
      ticks: tickSteps,
      delays: travelTimes,
    }),
  async setup(world, p, naive) {
    travel(world, p.delays);
    const proc = world.addProc({ naive, lifetime: true });
    await seed(world, proc, p.prefill, world.item(1, 1, p.ttl));
    const [now, later] = reads(world, proc, p.reads, 1, 1);
    return () => launch(world, [writeOp(world, proc, p.write, 1, 1, p.ttl)], now, later, [ticks(world, p.ticks)]);
  },
};

interface BackFillParams extends ScenarioParams {
  /** Whether memory, the upper and the lower shared tier hold the object at the start. */
  readonly held: readonly [boolean, boolean, boolean];
  readonly write: WriteKind;
  readonly reads: readonly ReadSpec[];
}

/**
 * 4. Back-fills into upper tiers (memory, then two shared tiers) racing an invalidation that lands
 * in each tier at its own moment.
 */
export const backFill: Scenario<BackFillParams> = {
  name: 'back-fill',
  params: (kit) =>
    fc.record({
      kinds: kit.kinds(2),
      held: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
      write: writeKind,
      reads: fc.array(readSpec, { minLength: 1, maxLength: 3 }),
    }),
  async setup(world, p, naive) {
    const proc = world.addProc({ naive });
    const first = world.item(1, 1);
    world.db.seed([first]);
    const tiers = [proc.memory, ...proc.shared];
    for (let i = 0; i < tiers.length; i++) if (p.held[i]) await tiers[i]!.batchPut([first]);
    const [now, later] = reads(world, proc, p.reads, 1, 1);
    return () => launch(world, [writeOp(world, proc, p.write, 1, 1)], now, later);
  },
};

export type KeyChange = 'change' | 'swap' | 'reinsert' | 'change-back';

interface KeyChangeParams extends ScenarioParams {
  readonly prefill: Prefill;
  readonly change: KeyChange;
  /** Through the chain's write-through, or through the ORM with the subscriber's invalidation. */
  readonly via: 'chain' | 'orm';
  readonly reads: readonly { readonly q: ItemQuery; readonly batch: boolean; readonly afterWrites: boolean }[];
}

const anyQuery: fc.Arbitrary<ItemQuery> = fc.oneof(
  fc.constantFrom(1, 2, 3).map((id) => ({ id })),
  fc.constantFrom(1, 2, 3).map((zap) => ({ zap, bar: 'b' })),
);

/**
 * 5. Key attributes change while reads by those keys are in flight: object 1's alternate key moves
 * (and back), objects 1 and 2 swap theirs in one transaction, object 1 is deleted and object 3
 * inserted with its old alternate key; through the chain or through the ORM. Also checks that
 * once the tombstones have expired, one read of each key puts the object back in every tier.
 */
export const keyChange: Scenario<KeyChangeParams> = {
  name: 'key change',
  params: (kit) =>
    fc.record({
      kinds: kit.kinds(1),
      prefill,
      change: fc.constantFrom<KeyChange>('change', 'swap', 'reinsert', 'change-back'),
      via: fc.constantFrom<'chain' | 'orm'>('chain', 'orm'),
      reads: fc.array(fc.record({ q: anyQuery, batch: fc.boolean(), afterWrites: fc.boolean() }), { minLength: 2, maxLength: 5 }),
    }),
  async setup(world, p, naive) {
    const proc = world.addProc({ naive });
    await seed(world, proc, p.prefill, world.item(1, 1), world.item(2, 2));
    const put = (...items: Item[]): Promise<void> => (p.via === 'chain' ? world.write(proc, items) : world.external(proc, items, 'put'));
    const remove = (...items: Item[]): Promise<void> => (p.via === 'chain' ? world.remove(proc, items) : world.external(proc, items, 'delete'));
    let write: () => Promise<void>;
    switch (p.change) {
      case 'change':
        write = () => put(world.item(1, 3));
        break;
      case 'swap':
        write = () => put(world.item(1, 2), world.item(2, 1));
        break;
      case 'reinsert':
        write = async () => {
          await remove(world.item(1, 1));
          await put(world.item(3, 1));
        };
        break;
      case 'change-back':
        write = async () => {
          await put(world.item(1, 3));
          await put(world.item(1, 1));
        };
        break;
    }
    const now = p.reads.filter((r) => !r.afterWrites).map((r) => () => world.read(proc, [r.q], r.batch));
    const later = p.reads.filter((r) => r.afterWrites).map((r) => () => world.read(proc, [r.q], r.batch));
    return () => launch(world, [write], now, later);
  },
  liveness: true,
};

interface BusParams extends ScenarioParams {
  readonly processes: number;
  readonly prefill: Prefill;
  readonly writes: readonly { readonly by: number; readonly kind: WriteKind; readonly zap: number }[];
  readonly reads: readonly (ReadSpec & { readonly proc: number })[];
  readonly fates: readonly BusFate[];
  /** A process whose bus subscribes only once the schedule says (it starts cut off). */
  readonly late: number | undefined;
  readonly ticks: readonly number[];
}

/**
 * 7. The bus: processes each with its own memory tier over the shared tiers write, delete and read
 * one object while their bus messages are delayed, reordered, lost (followed by a reconnection) or
 * duplicated, and one process may subscribe late. After quiescence no process's memory may hold
 * anything older than the database (docs/ARCHITECTURE.md, "The bus").
 */
export const busScenario: Scenario<BusParams> = {
  name: 'bus',
  summary: () => `bus messages per receiver ${busCounts.messages}, lost ${busCounts.lost}, duplicated ${busCounts.duplicated}`,
  params: (kit) =>
    fc.integer({ min: 2, max: 3 }).chain((processes) =>
      fc.record({
        kinds: kit.kinds(1),
        processes: fc.constant(processes),
        prefill,
        writes: fc.array(fc.record({ by: fc.nat(processes - 1), kind: writeKind, zap: fc.constantFrom(1, 2) }), { minLength: 1, maxLength: 2 }),
        reads: fc.array(fc.tuple(fc.nat(processes - 1), readSpec).map(([proc, r]) => ({ ...r, proc })), { minLength: 1, maxLength: 4 }),
        fates: fc.array(fc.constantFrom<BusFate>('deliver', 'deliver', 'lose', 'duplicate'), { maxLength: 6 }),
        late: fc.option(fc.nat(processes - 1), { nil: undefined }),
        ticks: fc.array(fc.constantFrom(0, 400, 1_000, 2_600), { maxLength: 2 }),
      }),
    ),
  async setup(world, p, naive) {
    const procs = Array.from({ length: p.processes }, () => world.addProc({ bus: true, naive }));
    const first = world.item(1, 1);
    await seed(world, procs[0]!, p.prefill, first);
    if (p.prefill === 'all') for (const proc of procs.slice(1)) await proc.memory.batchPut([first]);
    // Let every subscription come up (and clear), then fill memories again as the prefill says.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (p.prefill === 'all') for (const proc of procs) await proc.memory.batchPut([first]);
    if (p.late !== undefined) world.hub.disconnect(procs[p.late]!.bus!);
    world.busFates = [...p.fates];
    const writes = p.writes.map((w) => writeOp(world, procs[w.by]!, w.kind, 1, w.zap));
    const now: (() => Promise<void>)[] = [];
    const later: (() => Promise<void>)[] = [];
    for (const r of p.reads) {
      const [a, b] = reads(world, procs[r.proc]!, [r], 1, 1);
      now.push(...a);
      later.push(...b);
    }
    const others: (() => Promise<void>)[] = [ticks(world, p.ticks)];
    if (p.late !== undefined) {
      const bus = procs[p.late]!.bus!;
      others.push(() => world.gates.start('late subscribe').then(() => world.hub.reconnect(bus)));
    }
    return () => launch(world, writes, now, later, others);
  },
};
