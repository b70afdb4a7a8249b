import 'reflect-metadata';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle, type Class, type KeyQuery } from '@stockpyle/core';
import { FaultyStore } from '@stockpyle/core/testing';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id'], name: 'stats.Doc' })
class Doc {
  constructor(
    public id: number,
    public title: string,
  ) {}
}

class FailingDatabase extends MemoryDatabase {
  down = false;

  override async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    if (this.down) throw new Error('database down');
    return super.batchGet(cls, queries);
  }
}

// stats() counts whether or not anyone listens to events: for applications without OpenTelemetry.
describe('stats()', () => {
  it('a cache tier counts hits, misses, fills, skips and corrupt entries, with no listener', async () => {
    const entries = new Map<string, unknown>();
    const tier = new DictionaryStore(entries, { name: 'dict' });
    expect(tier.stats()).toEqual({ store: 'dict', hits: 0, misses: 0, hitRatio: undefined, fills: 0, skips: 0, corrupt: 0, errors: 0, stale: 0 });
    await tier.put(new Doc(1, 'a'));
    expect(await tier.batchGet(Doc, [{ id: 1 }, { id: 2 }])).toEqual([new Doc(1, 'a'), undefined]);
    expect(await tier.get(Doc, { id: 1 })).toEqual(new Doc(1, 'a'));
    const { observed } = await tier.lookup(Doc, [{ id: 3 }]);
    await tier.fill([new Doc(3, 'c')], Date.now(), observed);
    for (const key of entries.keys()) if (key.includes('id=n1')) entries.set(key, '{"f":1,"k":"v",'); // truncated
    expect(await tier.get(Doc, { id: 1 })).toBeUndefined();
    expect(tier.stats()).toEqual({ store: 'dict', hits: 2, misses: 3, hitRatio: 2 / 5, fills: 1, skips: 0, corrupt: 1, errors: 0, stale: 0 });
  });

  it('a first tier counts its synchronous hits', async () => {
    const memory = new ProcessMemoryStore({ name: 'memory' });
    await memory.put(new Doc(1, 'a'));
    memory.peek(Doc, { id: 1 });
    await memory.get(Doc, { id: 1 });
    await memory.get(Doc, { id: 9 });
    expect(memory.stats()).toMatchObject({ hits: 2, misses: 1, hitRatio: 2 / 3 });
  });

  it('a chain counts what its caches answered, its tiers\' errors and breakers, what it owes them, and stale answers', async () => {
    const memory = new ProcessMemoryStore({ name: 'memory' });
    const shared = FaultyStore.wrap(new DictionaryStore(new Map(), { name: 'shared' }));
    const db = new FailingDatabase();
    const chain = new ChainedStore([memory, shared, db], { name: 'chain', grace: 60, breaker: { failureThreshold: 1, resetAfter: 60_000 } });
    await db.put(new Doc(1, 'a'));
    await chain.get(Doc, { id: 1 }); // the database's answer
    await chain.get(Doc, { id: 1 }); // the first tier's
    await chain.get(Doc, { id: 1 });
    await chain.get(Doc, { id: 2 }); // nothing anywhere: the database's answer
    shared.fault({ kind: 'throw' });
    await chain.invalidate([new Doc(1, 'a')]); // the shared tier fails: its breaker opens, it owes the invalidation
    db.down = true;
    expect(await chain.get(Doc, { id: 1 })).toEqual(new Doc(1, 'a')); // from the grace memory
    const stats = chain.stats();
    expect(stats).toMatchObject({ store: 'chain', hits: 2, misses: 3, hitRatio: 2 / 5, errors: 1, stale: 1 });
    expect(stats.tiers.map(({ store, breaker, pendingInvalidations, pendingClears }) => ({ store, breaker, pendingInvalidations, pendingClears }))).toEqual([
      { store: 'memory', breaker: 'closed', pendingInvalidations: 0, pendingClears: 0 },
      { store: 'shared', breaker: 'open', pendingInvalidations: 1, pendingClears: 0 },
      { store: db.name, breaker: 'closed', pendingInvalidations: 0, pendingClears: 0 },
    ]);
    expect(stats.tiers[0]!.stats).toMatchObject({ store: 'memory', hits: 2, fills: 1 });
    expect(stats.tiers[1]!.stats).toMatchObject({ store: 'shared', misses: 2, fills: 1 });
  });
});
