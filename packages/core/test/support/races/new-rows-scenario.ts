import fc from 'fast-check';
import { newItem, type Item, type ItemQuery } from './database';
import type { Scenario, ScenarioParams } from './runner';
import { launch } from './scenarios';

interface NewRowsParams extends ScenarioParams {
  /** Whether every tier remembers misses. */
  readonly misses: boolean;
  /** The insert: through the chain's write-through, or through the ORM with the subscriber's invalidation. */
  readonly via: 'chain' | 'orm';
  /** What happens to the new row after its insert, in the same operation. */
  readonly then: 'nothing' | 'update' | 'delete';
  readonly reads: readonly { readonly q: ItemQuery; readonly batch: boolean; readonly afterWrites: boolean }[];
}

const newRowQuery: fc.Arbitrary<ItemQuery> = fc.constantFrom<ItemQuery>({ id: 5 }, { zap: 5, bar: 'b' }, { zap: 6, bar: 'b' });

/**
 * 6. New rows: an object whose id the database assigns (its anchor is unknown when the write
 * reserves the caches) is inserted while reads of its id and alternate key — which the tiers may
 * remember as absent — are in flight; then maybe updated (moving its alternate key) or deleted.
 * Checks that the commit of a new anchor never lands over another write or an invalidation, and
 * that no remembered miss outlives the insert.
 */
export const newRows: Scenario<NewRowsParams> = {
  name: 'new rows',
  params: (kit) =>
    fc.record({
      kinds: kit.kinds(1),
      misses: fc.boolean(),
      via: fc.constantFrom<'chain' | 'orm'>('chain', 'orm'),
      then: fc.constantFrom<'nothing' | 'update' | 'delete'>('nothing', 'nothing', 'update', 'delete'),
      reads: fc.array(fc.record({ q: newRowQuery, batch: fc.boolean(), afterWrites: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    }),
  async setup(world, p, naive) {
    const proc = world.addProc({ naive, misses: p.misses || naive === 'keep-misses' });
    world.db.seed([world.item(1, 1)]);
    // Reads before the schedule starts: the tiers remember the new row's keys as absent (with misses).
    await world.read(proc, [{ id: 5 }, { zap: 5, bar: 'b' }], true);
    const put = (item: Item): Promise<void> => (p.via === 'chain' ? world.write(proc, [item]) : world.external(proc, [item], 'put'));
    const write = async (): Promise<void> => {
      const inserted = newItem(5, 5, world.version());
      await put(inserted);
      if (inserted.id === undefined) return; // the insert was refused
      if (p.then === 'update') await put(world.item(5, 6));
      if (p.then === 'delete') await (p.via === 'chain' ? world.remove(proc, [world.item(5, 5)]) : world.external(proc, [world.item(5, 5)], 'delete'));
    };
    const now = p.reads.filter((r) => !r.afterWrites).map((r) => () => world.read(proc, [r.q], r.batch));
    const later = p.reads.filter((r) => r.afterWrites).map((r) => () => world.read(proc, [r.q], r.batch));
    return () => launch(world, [write], now, later);
  },
  liveness: true,
};
