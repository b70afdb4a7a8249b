import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ChainedStore, ProcessMemoryStore, StockpyleError, type StoreEventOf } from '@stockpyle/core';
import { MikroOrmStore, StockpyleSubscriber, stockpyleEntityManager } from '@stockpyle/mikro-orm';
import { startPostgres, type ServiceHandle } from '../../../test-support/services';
import { ENTITIES, Foo } from './support/entities';
import { closeWithin5s } from './support/orm';

// A private PostgreSQL shut down (SIGINT, its fast shutdown: every connection closed, new ones refused) while chains [ProcessMemoryStore, MikroOrmStore] serve reads
// of rows changed elsewhere (invalidated: every read must reach the database). With `grace`, the
// reads keep succeeding with the last version each chain saw, reported as `stale` events; without
// it, the ORM's errors reach the callers unchanged. Then PostgreSQL comes back.

const ROWS = 50;
const READS = Number(process.env.STOCKPYLE_FAULT_OPS ?? 2000);
const CONCURRENCY = 32;
// A pool that gives up on a refused connection within 2 s rather than the driver's default minute
// (MikroORM 6's knex pool reads acquireTimeoutMillis; 7's pg pool refuses at once and its types omit it).
const POOL = { min: 0, max: 8, acquireTimeoutMillis: 2_000 } as { min: number; max: number };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`stale-if-error (grace) when PostgreSQL is shut down (${READS} reads, ${CONCURRENCY} in flight)`, () => {
  let pg: ServiceHandle;
  let orm: MikroORM;

  beforeAll(async () => {
    pg = await startPostgres();
    orm = await MikroORM.init({ clientUrl: pg.url, entities: ENTITIES, allowGlobalContext: false, pool: POOL });
    await orm.schema.execute(await orm.schema.getCreateSchemaSQL());
  }, 60_000);

  afterAll(async () => {
    await closeWithin5s(orm);
    await pg?.stop();
  }, 30_000);

  /**
   * Shuts PostgreSQL down (SIGINT rather than SIGKILL: the test server runs without durability, so
   * a crash would lose the rows) and waits until a find of `through` (the ORM under test: its pool
   * may hold a connection a moment longer than another's) fails; that error.
   */
  async function shutDown(through: MikroORM): Promise<Error> {
    pg.kill('SIGINT');
    for (let attempt = 0; attempt < 250; attempt++) {
      const error = await through.em
        .fork()
        .findOne(Foo, { id: 1 })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      if (error !== undefined) return error as Error;
      await sleep(20);
    }
    throw new Error('PostgreSQL still answers 5 s after SIGINT');
  }

  /** Reads random rows with `CONCURRENCY` in flight; every answer and error. */
  async function load(chain: ChainedStore): Promise<{ answers: (Foo | undefined)[]; errors: unknown[]; ms: number }> {
    const answers: (Foo | undefined)[] = [];
    const errors: unknown[] = [];
    let issued = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (issued < READS) {
          issued++;
          try {
            answers.push(await chain.get(Foo, { id: 1 + Math.floor(Math.random() * ROWS) }));
          } catch (error) {
            errors.push(error);
          }
        }
      }),
    );
    return { answers, errors, ms: performance.now() - started };
  }

  it('serves the last versions seen while the database is down, and the database again once it is back', async () => {
    const withGrace = new ChainedStore([new ProcessMemoryStore(), new MikroOrmStore({ orm })], { name: 'grace', grace: 60 });
    const without = new ChainedStore([new ProcessMemoryStore(), new MikroOrmStore({ orm })], { name: 'plain' });
    const stale: StoreEventOf<'stale'>[] = [];
    withGrace.on('stale', (e) => stale.push(e));
    const rows = Array.from({ length: ROWS }, (_v, i) => new Foo(i + 1, i + 1, `v1-${i + 1}`));
    await withGrace.batchPut(rows);
    // Both chains have read every row; then the rows change elsewhere (what the subscriber reports).
    for (const chain of [withGrace, without]) {
      expect((await chain.batchGet(Foo, rows.map((r) => ({ id: r.id })))).map((f) => f?.bar)).toEqual(rows.map((r) => r.bar));
      await chain.invalidate(rows);
    }

    // What the ORM itself raises with its server gone.
    const direct = await shutDown(orm);
    expect(direct).toBeInstanceOf(Error);

    // The pg driver reports each dropped pooled connection on the console; keep the output readable.
    const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    let served: Awaited<ReturnType<typeof load>>;
    let refused: Awaited<ReturnType<typeof load>>;
    try {
      served = await load(withGrace);
      refused = await load(without);
    } finally {
      quiet.mockRestore();
    }

    // With grace: every read answered, with the version the chain had seen, as stale answers.
    expect(served.errors).toEqual([]);
    expect(served.answers).toHaveLength(READS);
    for (const foo of served.answers) expect(foo?.bar).toBe(`v1-${foo!.id}`);
    const staleAnswers = stale.reduce((n, e) => n + e.count, 0);
    // Gets of one tick go as one batch, and gets of a key already in flight share its answer: at most one stale answer per read.
    expect(staleAnswers).toBeGreaterThan(0);
    expect(staleAnswers).toBeLessThanOrEqual(READS);
    expect(stale.every((e) => e.error instanceof Error && !(e.error instanceof StockpyleError))).toBe(true);
    // Never written back: the first tier still holds nothing of these rows.
    expect(await withGrace.stores[0]!.get(Foo, { id: 1 })).toBeUndefined();

    // Without grace: every read fails with the ORM's own error, as when it is called directly.
    expect(refused.answers).toEqual([]);
    expect(refused.errors).toHaveLength(READS);
    expect(refused.errors.every((e) => e instanceof Error && !(e instanceof StockpyleError) && e.constructor === (direct as Error).constructor)).toBe(true);

    // PostgreSQL back: the rows as the database has them (changed meanwhile by nobody: the same).
    await pg.restart();
    let back: Foo | undefined;
    for (let attempt = 0; attempt < 50 && back === undefined; attempt++) {
      back = await withGrace.get(Foo, { id: 2 }).catch(async () => (await sleep(100), undefined));
    }
    expect(back?.bar).toBe('v1-2');
    const before = stale.length;
    await orm.em.fork().nativeUpdate(Foo, { id: 3 }, { bar: 'v2-3' });
    await withGrace.invalidate([new Foo(3, 3, 'v1-3')]);
    expect((await withGrace.get(Foo, { id: 3 }))?.bar).toBe('v2-3');
    expect(stale).toHaveLength(before);
    console.log(
      `grace: PostgreSQL shut down; with grace 60 s ${READS} reads of invalidated rows in ${served.ms.toFixed(0)} ms, 0 errors, ` +
        `${staleAnswers} stale answers in ${stale.length} events (oldest ${Math.max(...stale.map((e) => e.ageMs))} ms); ` +
        `without grace ${refused.errors.length} reads failed with the ORM's ${(direct as Error).constructor.name} in ${refused.ms.toFixed(0)} ms`,
    );
    await Promise.all([withGrace.release(), without.release()]);
  }, 120_000);

  it("the ORM's own finds through the second-level cache are answered too, in the EntityManager that asked", async () => {
    const cached = await MikroORM.init({
      clientUrl: pg.url,
      entities: ENTITIES,
      allowGlobalContext: false,
      pool: POOL,
      entityManager: stockpyleEntityManager(EntityManager),
    });
    try {
      const chain = new ChainedStore([new ProcessMemoryStore(), new MikroOrmStore({ orm: cached })], { grace: 60 });
      cached.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
      const stale: StoreEventOf<'stale'>[] = [];
      chain.on('stale', (e) => stale.push(e));
      const seen = await cached.em.fork().findOneOrFail(Foo, { id: 5 });
      expect(seen.bar).toBe('v1-5');
      await chain.invalidate([seen]);
      // Its own EntityManager class would serve the find below from the grace memory: poll around it.
      await shutDown(orm);
      for (let attempt = 0; attempt < 250; attempt++) {
        const answered = await cached.em
          .fork()
          .find(Foo, { bar: 'v1-5' })
          .then(
            () => true,
            () => false,
          );
        if (!answered) break;
        await sleep(20);
      }
      const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        const em = cached.em.fork();
        const found = await em.findOneOrFail(Foo, { id: 5 });
        expect(found.bar).toBe('v1-5');
        expect(em.getReference(Foo, 5)).toBe(found); // the managed instance of this EntityManager
        expect(stale.map((e) => e.count)).toEqual([1]);
        // Not served (a condition that is no declared key): the ORM's error, as without the cache.
        await expect(cached.em.fork().find(Foo, { bar: 'v1-5' })).rejects.toThrow();
      } finally {
        quiet.mockRestore();
      }
      await pg.restart();
      await chain.release();
    } finally {
      await closeWithin5s(cached);
    }
  }, 120_000);
});
