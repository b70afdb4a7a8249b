import 'reflect-metadata';
import fc from 'fast-check';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle, type Store } from '@stockpyle/core';
import { MemoryDatabase } from './support/memory-database';
import { scheduled } from './support/scheduled';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'races.Foo' })
class Foo {
  constructor(public id: number, public zap: number, public bar: string, public version: number) {}
}

/** A dictionary tier whose fills are plain sets: the naive design the protocol exists to beat. */
class NaiveStore extends DictionaryStore {
  override fill(objs: readonly object[]): Promise<void> {
    return this.batchPut(objs);
  }
}

type Op = { kind: 'read'; byAlt: boolean } | { kind: 'write'; zap: number } | { kind: 'delete' };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('read' as const), byAlt: fc.boolean() }),
  fc.record({ kind: fc.constant('write' as const), zap: fc.integer({ min: 1, max: 3 }) }),
  fc.constant({ kind: 'delete' as const }),
);

const RUNS = Number(process.env.STOCKPYLE_RACE_RUNS ?? 2_000);

/**
 * Runs random concurrent reads, writes and deletes of one object through a three-tier chain with
 * every tier call released by the scheduler; then checks invariant 1 for every key in every tier.
 */
async function violations(naive: boolean, runs: number): Promise<number | undefined> {
  // A still clock: only the order of effects varies, never how much wall time a loaded machine
  // lets pass (tombstone lifetimes and late fills have their own suites in races/).
  const now = Date.now();
  const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
  let failedAt: number | undefined;
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 2, maxLength: 5 }), async (s, ops) => {
        run++;
        const memory = new ProcessMemoryStore();
        const shared = naive ? new NaiveStore(new Map()) : new DictionaryStore(new Map());
        const db = new MemoryDatabase();
        await db.put(new Foo(1, 1, 'b', 0));
        const chain = new ChainedStore([scheduled(s, 'memory', memory), scheduled(s, 'shared', shared), scheduled(s, 'db', db)]);
        let version = 0;
        const tasks = ops.map((o) => {
          if (o.kind === 'read') return chain.get(Foo, o.byAlt ? { zap: 1, bar: 'b' } : { id: 1 });
          if (o.kind === 'write') return chain.put(new Foo(1, o.zap, 'b', ++version));
          return chain.delete(new Foo(1, 1, 'b', 0));
        });
        // Let every call reach its first scheduled point (coalesced gets start on the next tick).
        await new Promise((r) => setImmediate(r));
        await s.waitFor(Promise.allSettled(tasks));
        const truth = (await db.get(Foo, { id: 1 })) as Foo | undefined;
        for (const tier of [memory, shared] as Store[]) {
          for (const zap of [1, 2, 3]) {
            const byAlt = (await tier.get(Foo, { zap, bar: 'b' })) as Foo | undefined;
            if (byAlt !== undefined && (truth === undefined || byAlt.version !== truth.version || truth.zap !== zap)) return false;
          }
          const byId = (await tier.get(Foo, { id: 1 })) as Foo | undefined;
          if (byId !== undefined && (truth === undefined || byId.version !== truth.version)) return false;
        }
        return true;
      }),
      { numRuns: runs },
    );
  } catch (error) {
    failedAt = run;
    if (process.env.STOCKPYLE_RACE_DEBUG) process.stdout.write(`${String(error)}\n`);
  } finally {
    clock.mockRestore();
  }
  return failedAt;
}

describe('ChainedStore under driven interleavings', () => {
  it(`no tier ever holds an older version than the database (${RUNS} schedules)`, async () => {
    expect(await violations(false, RUNS)).toBeUndefined();
  }, 120_000);

  it('the same check catches the naive design that fills with a plain set', async () => {
    const failedAt = await violations(true, RUNS);
    expect(failedAt).toBeDefined();
    process.stdout.write(`naive fill-with-set design failed at schedule ${failedAt}\n`);
  }, 120_000);
});
