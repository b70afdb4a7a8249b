import fc from 'fast-check';
import type { ItemQuery } from './database';
import type { Scenario, ScenarioParams } from './runner';
import { launch } from './scenarios';

interface ClearParams extends ScenarioParams {
  /** Two processes share the tiers below memory, with a bus between them. */
  readonly twoProcs: boolean;
  /** A write-through of item 1 by the first process, racing the bulk change and its clear. */
  readonly write: boolean;
  /** Which process runs the bulk change and the clear. */
  readonly clearer: 0 | 1;
  readonly reads: readonly { readonly proc: 0 | 1; readonly q: ItemQuery; readonly batch: boolean; readonly afterWrites: boolean }[];
}

const query: fc.Arbitrary<ItemQuery> = fc.constantFrom<ItemQuery>({ id: 1 }, { id: 2 }, { zap: 1, bar: 'b' }, { zap: 2, bar: 'b' });

/**
 * 7. A class-wide clear: rows change behind the ORM (a bulk update, raw SQL) and the application
 * then calls `chain.clear(Item)`, while reads fill the tiers and a write-through of one of the rows
 * is in flight. Checks that once the clear has returned no tier of any process serves what the
 * bulk change replaced: a fill of a read from before the clear, or a commit of a write reserved
 * before it, must stay unreachable however late it lands.
 */
export const clearScenario: Scenario<ClearParams> = {
  name: 'class clear',
  params: (kit) =>
    fc.record({
      kinds: fc.oneof(kit.kinds(1), kit.kinds(2)),
      twoProcs: fc.boolean(),
      write: fc.boolean(),
      clearer: fc.constantFrom<0 | 1>(0, 1),
      reads: fc.array(fc.record({ proc: fc.constantFrom<0 | 1>(0, 1), q: query, batch: fc.boolean(), afterWrites: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    }),
  async setup(world, p, naive) {
    const procs = [world.addProc({ naive, bus: p.twoProcs })];
    if (p.twoProcs) procs.push(world.addProc({ naive, bus: true }));
    world.db.seed([world.item(1, 1), world.item(2, 2)]);
    // Every tier of every process holds both rows before the schedule starts.
    for (const proc of procs) await world.read(proc, [{ id: 1 }, { id: 2 }, { zap: 1, bar: 'b' }, { zap: 2, bar: 'b' }], true);
    const at = (i: 0 | 1) => procs[Math.min(i, procs.length - 1)]!;
    const writes = [() => world.bulk(at(p.clearer), [world.item(1, 1), world.item(2, 2)])];
    if (p.write) writes.push(() => world.write(procs[0]!, [world.item(1, 1)]));
    const now = p.reads.filter((r) => !r.afterWrites).map((r) => () => world.read(at(r.proc), [r.q], r.batch));
    const later = p.reads.filter((r) => r.afterWrites).map((r) => () => world.read(at(r.proc), [r.q], r.batch));
    return () => launch(world, writes, now, later);
  },
  liveness: true,
};
