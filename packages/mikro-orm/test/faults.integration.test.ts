import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import { ChainedStore, ProcessMemoryStore, StockpyleError } from '@stockpyle/core';
import { MikroOrmStore } from '@stockpyle/mikro-orm';
import { percentile } from '../../../test-support/fault-load';
import { pgQuery, startPostgres, type ServiceHandle } from '../../../test-support/services';
import { ENTITIES, Foo } from './support/entities';
import { closeWithin5s } from './support/orm';

// A private PostgreSQL whose connections are terminated (pg_terminate_backend) twice while a chain
// [ProcessMemoryStore, MikroOrmStore] serves a bounded load: the database's errors must reach the
// callers as the ORM raised them, the pool must recover by itself, and nothing stale may remain.

const OPS = Number(process.env.STOCKPYLE_FAULT_OPS ?? 2000);
const IDS = 50;
const CONCURRENCY = 32;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`MikroOrmStore when PostgreSQL terminates its connections (${OPS} mixed ops, ${CONCURRENCY} in flight)`, () => {
  let pg: ServiceHandle;
  let orm: MikroORM;

  beforeAll(async () => {
    pg = await startPostgres();
    orm = await MikroORM.init({ clientUrl: pg.url, entities: ENTITIES, allowGlobalContext: false, pool: { min: 0, max: 8 } });
    await orm.schema.execute(await orm.schema.getCreateSchemaSQL()); // a new server: nothing to drop
  }, 60_000);

  afterAll(async () => {
    await closeWithin5s(orm);
    await pg?.stop();
  }, 20_000);

  /** Terminates every backend of the test database, from a connection to another database. */
  const terminate = (): Promise<void> =>
    pgQuery(pg.host, pg.port, {
      user: 'postgres',
      database: 'postgres',
      sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'stockpyle_test' AND pid <> pg_backend_pid()",
    });

  it('database errors reach the caller unchanged, the pool recovers, and no tier is left stale', async () => {
    const memory = new ProcessMemoryStore({ max: 10 });
    const chain = new ChainedStore([memory, new MikroOrmStore({ orm })]);
    const cacheErrors: unknown[] = [];
    chain.on('error', (e) => cacheErrors.push(e.error));
    for (let id = 1; id <= IDS; id++) await chain.put(new Foo(id, id, 'v0'));

    const errors: { at: number; error: unknown }[] = [];
    const latencies: number[] = [];
    let issued = 0;
    let written = 0;
    const started = performance.now();
    const pace = (1000 * CONCURRENCY) / 400;
    const worker = async (w: number): Promise<void> => {
      await sleep((pace * w) / CONCURRENCY);
      while (issued < OPS) {
        issued++;
        const id = 1 + Math.floor(Math.random() * IDS);
        const t = performance.now();
        try {
          if (Math.random() < 0.7) await chain.get(Foo, { id });
          else await chain.put(new Foo(id, id, `v${++written}`));
        } catch (error) {
          errors.push({ at: performance.now() - started, error });
        }
        const spent = performance.now() - t;
        latencies.push(spent);
        if (spent < pace) await sleep(pace - spent);
      }
    };
    // The pg driver reports each dropped pooled connection on the console; count those lines instead.
    let poolWarnings = 0;
    const log = console.log;
    const quiet = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      if (String(args[0]).startsWith('Connection Error')) poolWarnings++;
      else log(...args);
    });
    const load = Promise.all(Array.from({ length: CONCURRENCY }, (_v, w) => worker(w)));
    await sleep(1000);
    const firstAt = performance.now() - started;
    await terminate();
    await sleep(1000);
    const secondAt = performance.now() - started;
    await terminate();
    await load.finally(() => quiet.mockRestore());

    // Every failure is the ORM's own error, not one of stockpyle's, and none came from a cache tier.
    const foreign = errors.filter((e) => e.error instanceof StockpyleError || !(e.error instanceof Error));
    expect(foreign).toEqual([]);
    expect(cacheErrors).toEqual([]);
    const lastError = errors.length === 0 ? undefined : Math.max(...errors.map((e) => e.at));

    // The pool reconnected by itself: a read that must reach the database succeeds now.
    memory.clear();
    await expect(chain.get(Foo, { id: 1 })).resolves.toBeInstanceOf(Foo);

    // After settling, every tier agrees with the database.
    const truth = await orm.em.fork().find(Foo, {}, { orderBy: { id: 'asc' } });
    const bars = new Map(truth.map((f) => [f.id, f.bar]));
    for (let id = 1; id <= IDS; id++) {
      const cached = await memory.get(Foo, { id });
      if (cached !== undefined) expect(cached.bar).toBe(bars.get(id));
      expect((await chain.get(Foo, { id }))?.bar).toBe(bars.get(id));
    }

    const sorted = [...latencies].sort((a, b) => a - b);
    const byClass = new Map<string, number>();
    for (const { error } of errors) byClass.set((error as Error).constructor.name, (byClass.get((error as Error).constructor.name) ?? 0) + 1);
    const kinds = [...byClass].map(([name, n]) => `${name} x${n}`);
    console.log(
      `postgres — connections terminated at ${firstAt.toFixed(0)} and ${secondAt.toFixed(0)} ms: ${issued} ops, ` +
        `${errors.length} database errors reached callers unchanged (${kinds.join(', ') || 'none'}), 0 cache-tier errors; ` +
        `${poolWarnings} pooled connections reported dropped; last caller error at ${lastError?.toFixed(0) ?? '-'} ms; ` +
        `latency p50 ${percentile(sorted, 50).toFixed(1)} / p99 ${percentile(sorted, 99).toFixed(1)} / max ${sorted[sorted.length - 1]!.toFixed(1)} ms`,
    );
    await chain.release();
  }, 120_000);
});
