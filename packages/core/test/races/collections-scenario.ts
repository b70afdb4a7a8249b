import 'reflect-metadata';
import fc from 'fast-check';
import { BaseStore, ChainedStore, ProcessMemoryStore, Stockpyle, type CacheTier, type Class, type KeyQuery } from '@stockpyle/core';
import type { Gates } from '../support/races/gates';
import type { Scenario, ScenarioParams } from '../support/races/runner';
import { launch, ticks, travel, travelTimes, type Prefill } from '../support/races/scenarios';
import { makeNaive, type BusFate, type Naive, type World } from '../support/races/world';

/**
 * A cached collection, as the MikroORM integration caches one: an ordinary stockpyle object keyed
 * by one string naming the owner's class, the collection and the owner's primary key, holding the
 * members' primary keys. So the chain's protocol (docs/ARCHITECTURE.md, "The fill protocol") is
 * all that keeps it right.
 */
@Stockpyle({ keys: ['key'], name: 'races.MemberList' })
export class MemberList {
  constructor(
    public key: string,
    /** Member primary keys, ascending. */
    public members: number[],
  ) {}
}

export const OWNERS = [1, 2, 3] as const;

export function listKey(owner: number): string {
  return `Owner.members=${owner}`;
}

function ownerOf(key: string): number {
  return Number(key.slice(key.indexOf('=') + 1));
}

/**
 * Members with a foreign key to their owner, as a store whose every statement is released by the
 * scheduler: a member list read is one `SELECT pk FROM member WHERE fk = ?` per owner; a write
 * is one statement that commits at once. Every state is kept (`history[seq]`: member → owner).
 */
export class MembersDatabase extends BaseStore {
  readonly history: ReadonlyMap<number, number>[] = [new Map()];
  /** Member list statements run, one per owner asked (what a user counts as database reads). */
  selects = 0;
  /** Round trips to the database (a `batchGet` of several owners is one). */
  roundTrips = 0;

  constructor(readonly gates: Gates) {
    super({ name: 'db' });
  }

  get seq(): number {
    return this.history.length - 1;
  }

  seed(rows: readonly (readonly [member: number, owner: number])[]): void {
    this.history.push(new Map(rows));
  }

  /** The member list of `owner` in state `seq`. */
  listAt(seq: number, owner: number): number[] {
    const out: number[] = [];
    for (const [member, fk] of this.history[seq]!) if (fk === owner) out.push(member);
    return out.sort((a, b) => a - b);
  }

  async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    if (cls !== (MemberList as Class)) throw new TypeError(`MembersDatabase holds member lists, not ${cls.name}`);
    this.roundTrips++;
    return this.gates.step(
      'db.select',
      () =>
        queries.map((q) => {
          this.selects++;
          const { key } = q as unknown as { key: string };
          return new MemberList(key, this.listAt(this.seq, ownerOf(key))) as unknown as T;
        }),
      undefined,
      false,
    );
  }

  /**
   * One statement of a member: an insert (refused when the member exists: its primary key), a
   * delete, or an update of its foreign key (nothing when the member is not there). Returns the
   * owners whose list it changed, the old owner from the row as the statement found it, as the
   * subscriber works them out from the ORM's snapshot of the member.
   */
  async write(w: MemberWrite): Promise<number[]> {
    return this.gates.step('db.write', () => {
      const next = new Map(this.history[this.seq]!);
      const from = next.get(w.member);
      if (w.kind === 'add' ? from !== undefined : from === undefined) return [];
      if (w.kind === 'remove') next.delete(w.member);
      else next.set(w.member, w.owner);
      if (w.kind === 'move' && from === w.owner) return [];
      this.history.push(next);
      return [...new Set([from, w.kind === 'remove' ? undefined : w.owner])].filter((o): o is number => o !== undefined);
    });
  }

  async batchPut(): Promise<void> {
    throw new TypeError('member lists are written by the members’ writes, not put');
  }

  async batchDelete(): Promise<void> {
    throw new TypeError('member lists are written by the members’ writes, not deleted');
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}

/** One process of the scenario: its own memory tier over the shared tiers, over the members' database. */
interface ListProc {
  readonly name: string;
  readonly memory: ProcessMemoryStore;
  readonly shared: readonly CacheTier[];
  readonly chain: ChainedStore;
}

/** A schedule's database and processes, by world. */
const states = new WeakMap<World, { db: MembersDatabase; procs: ListProc[] }>();

/** Coverage over a scenario's schedules: reads, writes, and answers the database had already changed when the read returned. */
interface Counts {
  reads: number;
  writes: number;
  behind: number;
}

function addProc(world: World, db: MembersDatabase, procs: ListProc[], naive: Naive | undefined, bus: boolean): ListProc {
  const name = `p${procs.length}`;
  // A schedule touches a few keys; lru-cache allocates `max` slots up front.
  const memory = new ProcessMemoryStore({ name: `memory@${name}`, max: 16 });
  const shared = world.kit.tiers(world, name, {});
  if (naive !== undefined) for (const tier of [memory, ...shared]) makeNaive(tier, naive);
  const chain = new ChainedStore([memory, ...shared, db], {
    name,
    tierTimeout: 600_000,
    replayInterval: 0,
    bus: bus ? world.hub.bus({ name: `bus@${name}` }) : undefined,
  });
  const proc = { name, memory, shared, chain };
  procs.push(proc);
  return proc;
}

/** A member list read through the chain (`get`, or one `batchGet` of several owners): each answer is a list the database held while it ran. */
async function read(world: World, db: MembersDatabase, proc: ListProc, owners: readonly number[], batch: boolean, counts: Counts): Promise<void> {
  const queries = owners.map((o) => ({ key: listKey(o) }));
  let found: (MemberList | undefined)[];
  try {
    found = batch ? await proc.chain.batchGet(MemberList, queries) : await Promise.all(queries.map((q) => proc.chain.get(MemberList, q)));
  } catch (error) {
    world.problems.push(`${proc.name} read lists of ${owners.join(', ')} threw ${String(error)}`);
    return;
  }
  counts.reads++;
  const to = db.seq;
  owners.forEach((owner, i) => {
    const list = found[i];
    if (list === undefined) {
      world.problems.push(`${proc.name} read the list of owner ${owner} and got nothing (the database always has one)`);
      return;
    }
    // A list may be older than the read (a write is invalidated only after its commit), never one the database never had.
    let held = false;
    for (let k = 0; k <= to && !held; k++) held = same(db.listAt(k, owner), list.members);
    if (!held) world.problems.push(`${proc.name} read owner ${owner}'s list as [${list.members.join(',')}], which the database never held`);
    else if (!same(db.listAt(to, owner), list.members)) counts.behind++;
  });
}

/** A member's write followed, after its commit, by the invalidation of every list it changed, as StockpyleSubscriber does. */
async function write(db: MembersDatabase, proc: ListProc, w: MemberWrite, counts: Counts): Promise<void> {
  const changed = await db.write(w);
  counts.writes++;
  if (changed.length > 0) await proc.chain.invalidate(changed.map((o) => new MemberList(listKey(o), [])));
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** What a member write does: insert a member with a foreign key, delete it, or move it to another owner. */
export type MemberWrite =
  | { readonly kind: 'add'; readonly member: number; readonly owner: number }
  | { readonly kind: 'remove'; readonly member: number }
  | { readonly kind: 'move'; readonly member: number; readonly owner: number };

interface CollectionParams extends ScenarioParams {
  readonly processes: 1 | 2;
  readonly prefill: Prefill;
  readonly writes: readonly (MemberWrite & { readonly by: number })[];
  readonly reads: readonly { readonly by: number; readonly owners: readonly number[]; readonly batch: boolean; readonly afterWrites: boolean }[];
  readonly fates: readonly BusFate[];
  readonly ticks: readonly number[];
  /** How far the clock moves while successive messages travel. */
  readonly delays: readonly number[];
}

const owner = fc.constantFrom(...OWNERS);
/** Members 10 and 11 start with owner 1, 20 with owner 2; 30 and 31 are new. */
const SEED: readonly (readonly [number, number])[] = [
  [10, 1],
  [11, 1],
  [20, 2],
];
const memberAdd: fc.Arbitrary<MemberWrite> = fc.record({ kind: fc.constant('add' as const), member: fc.constantFrom(30, 31), owner });
const memberWrite: fc.Arbitrary<MemberWrite> = fc.oneof(
  memberAdd,
  fc.record({ kind: fc.constant('remove' as const), member: fc.constantFrom(10, 11, 20, 30) }),
  fc.record({ kind: fc.constant('move' as const), member: fc.constantFrom(10, 11, 20, 30), owner }),
);

/**
 * 8. Collections: member lists (one per owner, read as `SELECT pk WHERE fk = ?`) cached through the
 * chain while members are inserted, deleted and moved between owners (a move changes two lists),
 * each write invalidating the lists it changed after its commit; reads of one list or a batch of
 * them, by one process or two on a bus whose messages may be delayed, lost or duplicated, over one
 * shared tier or two, while the clock moves (late fills). After quiescence no tier may hold a
 * member list other than the database's. `writes` narrows the writes drawn (`memberAdds`: inserts
 * only, the fill over a concurrent add).
 */
function collectionScenario(name: string, writes: fc.Arbitrary<MemberWrite>): Scenario<CollectionParams> {
  const counts: Counts = { reads: 0, writes: 0, behind: 0 };
  return {
    name,
    summary: () => `reads ${counts.reads}, writes ${counts.writes}, answers behind the database when returned ${counts.behind}`,
    params: (kit) =>
      fc.constantFrom<1 | 2>(1, 2).chain((processes) =>
        fc.record({
          kinds: fc.constantFrom(1, 2).chain((n) => kit.kinds(n)),
          processes: fc.constant(processes),
          prefill: fc.constantFrom<Prefill>('none', 'shared', 'all'),
          writes: fc.array(fc.tuple(fc.nat(processes - 1), writes).map(([by, w]) => ({ ...w, by })), { minLength: 1, maxLength: 3 }),
          reads: fc.array(
            fc.record({
              by: fc.nat(processes - 1),
              owners: fc.uniqueArray(owner, { minLength: 1, maxLength: 2 }),
              batch: fc.boolean(),
              afterWrites: fc.boolean(),
            }),
            { minLength: 1, maxLength: 4 },
          ),
          fates: processes === 1 ? fc.constant([]) : fc.array(fc.constantFrom<BusFate>('deliver', 'deliver', 'lose', 'duplicate'), { maxLength: 4 }),
          ticks: fc.array(fc.constantFrom(0, 400, 1_000, 2_600), { maxLength: 2 }),
          delays: travelTimes,
        }),
      ),
    async setup(world, p, naive) {
      travel(world, p.delays);
      const db = new MembersDatabase(world.gates);
      const procs: ListProc[] = [];
      states.set(world, { db, procs });
      for (let i = 0; i < p.processes; i++) addProc(world, db, procs, naive, p.processes > 1);
      db.seed(SEED);
      // Let every bus subscription come up (each clears its process's memory), then prefill.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (p.prefill !== 'none') {
        const lists = OWNERS.map((o) => new MemberList(listKey(o), db.listAt(db.seq, o)));
        for (const tier of procs[0]!.shared) await tier.batchPut(lists);
        if (p.prefill === 'all') for (const proc of procs) await proc.memory.batchPut(lists);
      }
      world.busFates = [...p.fates];
      const writes = p.writes.map((w) => () => write(db, procs[w.by]!, w, counts));
      const now = p.reads.filter((r) => !r.afterWrites).map((r) => () => read(world, db, procs[r.by]!, r.owners, r.batch, counts));
      const later = p.reads.filter((r) => r.afterWrites).map((r) => () => read(world, db, procs[r.by]!, r.owners, r.batch, counts));
      return () => launch(world, writes, now, later, [ticks(world, p.ticks)]);
    },
    async check(world) {
      const { db, procs } = states.get(world)!;
      // Bus deliveries released by the world's settling run as microtasks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const tiers: CacheTier[] = [...procs.map((p) => p.memory), ...procs[0]!.shared];
      for (const owner of OWNERS) {
        const current = db.listAt(db.seq, owner);
        for (const tier of tiers) {
          const held = await tier.get(MemberList, { key: listKey(owner) });
          if (held !== undefined && !same(held.members, current)) {
            world.problems.push(`after settling, ${tier.name} holds owner ${owner}'s list as [${held.members.join(',')}]; database: [${current.join(',')}]`);
          }
        }
      }
    },
    async close(world) {
      const state = states.get(world);
      if (state !== undefined) await Promise.all(state.procs.map((p) => p.chain.release()));
    },
  };
}

export const collections = collectionScenario('collections', memberWrite);
export const memberAdds = collectionScenario('collections, member adds only', memberAdd);
