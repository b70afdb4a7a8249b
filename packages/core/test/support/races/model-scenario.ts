import fc from 'fast-check';
import type { ItemQuery } from './database';
import type { Scenario, ScenarioParams } from './runner';
import { travel, travelTimes } from './scenarios';
import { show, type World } from './world';

/** What the model tracks: which servers are down, so crash and restart commands stay meaningful. */
interface Model {
  readonly down: Set<number>;
}

/** The system under test, and the operations started so far (they run concurrently). */
interface Real {
  readonly world: World;
  readonly ops: Promise<unknown>[];
}

type Command = fc.AsyncCommand<Model, Real>;

/** Each command starts its operation at a moment the scheduler picks, and does not wait for it. */
abstract class Started implements Command {
  check(_m: Readonly<Model>): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    await r.world.gates.start(`start ${this.toString()}`);
    this.apply(m);
    r.ops.push(this.op(r.world));
  }

  protected apply(_m: Model): void {}
  protected abstract op(world: World): Promise<void>;
  abstract toString(): string;
}

export class Read extends Started {
  constructor(
    readonly proc: number,
    readonly queries: readonly ItemQuery[],
    readonly batch: boolean,
  ) {
    super();
  }

  protected op(world: World): Promise<void> {
    return world.read(world.procs[this.proc]!, this.queries, this.batch);
  }

  toString(): string {
    return `p${this.proc} read ${this.queries.map(show).join(' ')}${this.batch ? ' (batch)' : ''}`;
  }
}

/** How the database answers a write: normally, by rolling it back, or by losing the reply to a commit. */
export type DatabaseOutcome = 'commit' | 'rollback' | 'lost-reply';

/** A write-through (a key change when `zap` differs from the object's). */
export class Write extends Started {
  constructor(
    readonly proc: number,
    readonly id: number,
    readonly zap: number,
    readonly outcome: DatabaseOutcome,
    readonly ttl?: number,
  ) {
    super();
  }

  protected op(world: World): Promise<void> {
    const item = world.item(this.id, this.zap, this.ttl);
    if (this.outcome === 'rollback') world.db.refuse.add(item.version);
    if (this.outcome === 'lost-reply') world.db.loseReply.add(item.version);
    return world.write(world.procs[this.proc]!, [item], this.outcome === 'lost-reply');
  }

  toString(): string {
    const outcome = this.outcome === 'commit' ? '' : ` (${this.outcome})`;
    return `p${this.proc} write id ${this.id} zap ${this.zap}${this.ttl === undefined ? '' : ` ttl ${this.ttl}s`}${outcome}`;
  }
}

class Delete extends Started {
  constructor(
    readonly proc: number,
    readonly id: number,
    readonly lostReply: boolean,
  ) {
    super();
  }

  protected op(world: World): Promise<void> {
    const item = world.item(this.id, 0);
    if (this.lostReply) world.db.loseReply.add(item.version);
    return world.remove(world.procs[this.proc]!, [item], this.lostReply);
  }

  toString(): string {
    return `p${this.proc} delete id ${this.id}${this.lostReply ? ' (lost reply)' : ''}`;
  }
}

/** A write through the ORM, which its subscriber then invalidates in the chain. */
class External extends Started {
  constructor(
    readonly proc: number,
    readonly id: number,
    readonly zap: number | undefined,
  ) {
    super();
  }

  protected op(world: World): Promise<void> {
    const item = world.item(this.id, this.zap ?? 0);
    return world.external(world.procs[this.proc]!, [item], this.zap === undefined ? 'delete' : 'put');
  }

  toString(): string {
    return `p${this.proc} ORM ${this.zap === undefined ? `delete id ${this.id}` : `write id ${this.id} zap ${this.zap}`}`;
  }
}

export class Crash extends Started {
  constructor(
    readonly server: number,
    readonly loseData: boolean,
  ) {
    super();
  }

  override check(m: Readonly<Model>): boolean {
    return !m.down.has(this.server);
  }

  protected override apply(m: Model): void {
    m.down.add(this.server);
  }

  protected op(world: World): Promise<void> {
    const server = world.servers[this.server]!;
    return world.gates.exclusive(`${this}`, () => (this.loseData ? server.crash() : server.cutOff()));
  }

  toString(): string {
    return `${this.loseData ? 'crash' : 'cut off'} server ${this.server}`;
  }
}

export class Restart extends Started {
  constructor(readonly server: number) {
    super();
  }

  override check(m: Readonly<Model>): boolean {
    return m.down.has(this.server);
  }

  protected override apply(m: Model): void {
    m.down.delete(this.server);
  }

  protected op(world: World): Promise<void> {
    return world.gates.exclusive(`${this}`, () => world.servers[this.server]!.restart());
  }

  toString(): string {
    return `restart server ${this.server}`;
  }
}

/** Time passing with nothing in flight beyond the network bound. */
class Tick extends Started {
  constructor(readonly ms: number) {
    super();
  }

  protected op(world: World): Promise<void> {
    return world.tick(this.ms);
  }

  toString(): string {
    return `tick ${this.ms}ms`;
  }
}

const proc = fc.constantFrom(0, 0, 1);
const id = fc.constantFrom(1, 2);
const zap = fc.constantFrom(1, 2, 3);
/** Lifetimes in seconds, some shorter than a tombstone's. */
const ttl = fc.option(fc.constantFrom(1, 4, 30), { nil: undefined });
const query: fc.Arbitrary<ItemQuery> = fc.oneof(id.map((i) => ({ id: i })), zap.map((z) => ({ zap: z, bar: 'b' })));

function commands(servers: number): fc.Arbitrary<Iterable<Command>> {
  const server = fc.integer({ min: 0, max: servers - 1 });
  const arbitraries: fc.Arbitrary<Command>[] = [
      fc.tuple(proc, fc.array(query, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([p, q, b]) => new Read(p, q, b)),
      fc.tuple(proc, fc.array(query, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([p, q, b]) => new Read(p, q, b)),
      fc.tuple(proc, id, zap, ttl).map(([p, i, z, t]) => new Write(p, i, z, 'commit', t)),
      fc.tuple(proc, id, zap, fc.constantFrom<DatabaseOutcome>('rollback', 'lost-reply')).map(([p, i, z, o]) => new Write(p, i, z, o)),
      fc.tuple(proc, id, fc.boolean()).map(([p, i, lost]) => new Delete(p, i, lost)),
      fc.tuple(proc, id, fc.option(zap, { nil: undefined })).map(([p, i, z]) => new External(p, i, z)),
      fc.tuple(server, fc.boolean()).map(([s, lose]) => new Crash(s, lose)),
      server.map((s) => new Restart(s)),
      fc.constantFrom(400, 2_600, 5_001).map((ms) => new Tick(ms)),
  ];
  return fc.commands(arbitraries, { maxCommands: 14 });
}

interface ModelParams extends ScenarioParams {
  readonly commands: Iterable<Command>;
  readonly delays: readonly number[];
}

/**
 * 7. Model-based runs: random sequences of reads, writes (key changes among them), deletes,
 * rollbacks and commits whose reply is lost, ORM writes, server crashes, partitions and restarts,
 * clock ticks, by two processes sharing the database and the shared tiers, each with its own
 * memory tier. Every read is checked when it returns (a version the database held while it ran,
 * or a miss; see World for what another process's writes and missed invalidations allow), every
 * tier once everything has settled, and that every tier can be filled again once tombstones expire.
 */
export const modelRuns: Scenario<ModelParams> = {
  name: 'model',
  params: (kit) =>
    fc.integer({ min: 1, max: 2 }).chain((n) => fc.record({ kinds: kit.kinds(n), commands: commands(n), delays: travelTimes })),
  async setup(world, p, naive) {
    travel(world, p.delays);
    world.addProc({ naive, lifetime: true });
    world.addProc({ naive, lifetime: true });
    world.db.seed([world.item(1, 1), world.item(2, 2)]);
    const real: Real = { world, ops: [] };
    return () => [fc.asyncModelRun(() => ({ model: { down: new Set<number>() }, real }), p.commands).then(() => Promise.allSettled(real.ops))];
  },
  liveness: true,
};
