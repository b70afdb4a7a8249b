import { setTimeout as sleep } from 'node:timers/promises';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { RedisStore } from '@stockpyle/redis';
import type { BenchCase } from '../case';
import { databaseStack } from '../database-stack';
import { Row, openOrm } from '../entities';
import { atMost, exactly } from '../harness';

const HOT = 1;
const WRITE_EVERY_MS = 500;
const READ_EVERY_MS = 1;

/** One application process of the case: its own first tier and Redis client over the shared Redis and PostgreSQL. */
interface Proc {
  readonly memory: ProcessMemoryStore;
  readonly database: ReturnType<typeof CountingStore.wrap<MikroOrmStore>>;
  readonly chain: ChainedStore;
  reads: number;
  staleFromFirstTier: number;
  staleFromBelow: number;
}

/**
 * Case 10: one hot row changed twice a second through MikroORM (the subscriber invalidates the
 * writer's chain after each commit) while two application processes each read it about 1,000
 * times a second through [process memory, 1 s lifetime; Redis; PostgreSQL]. Counts the database
 * reads the caches made per write, and the reads that returned an older revision than the
 * database had committed when the read started, by the tier that served them.
 */
export const underWrites: BenchCase = {
  id: 10,
  title: 'Under writes: a hot row changed twice a second, read by two processes',
  needs: ['memcached', 'redis', 'postgres'],
  async run(ctx) {
    await databaseStack(ctx); // creates and fills the table
    const seconds = ctx.quick ? 3 : 10;
    const writer = await openOrm(ctx.urls.postgres!, { seed: false });
    const procs: Proc[] = [0, 1].map((i) => {
      const memory = new ProcessMemoryStore({ lifetime: () => 1, name: `memory@p${i}` });
      const database = CountingStore.wrap(new MikroOrmStore({ orm: writer.orm }));
      const chain = new ChainedStore([memory, new RedisStore({ url: ctx.urls.redis!, prefix: 'bench-under-writes' }), database]);
      return { memory, database, chain, reads: 0, staleFromFirstTier: 0, staleFromBelow: 0 };
    });
    // The writing process is p0: its subscriber keeps its own chain (and so Redis) right.
    writer.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: procs[0]!.chain }));
    let committed = (await writer.orm.em.fork().findOneOrFail(Row, { id: HOT })).score;
    let writes = 0;
    let running = true;
    const end = Date.now() + seconds * 1000;
    const write = async (): Promise<void> => {
      while (Date.now() < end) {
        await sleep(WRITE_EVERY_MS);
        const em = writer.orm.em.fork();
        const row = await em.findOneOrFail(Row, { id: HOT });
        row.score = committed + 1;
        await em.flush();
        committed = row.score;
        writes++;
      }
      running = false;
    };
    const read = async (proc: Proc): Promise<void> => {
      while (running) {
        const atStart = committed;
        const fromFirstTier = proc.memory.peek(Row, { id: HOT }) !== undefined;
        const got = await proc.chain.get(Row, { id: HOT });
        proc.reads++;
        if (got === undefined || got.score < atStart) {
          if (fromFirstTier) proc.staleFromFirstTier++;
          else proc.staleFromBelow++;
        }
        await sleep(READ_EVERY_MS);
      }
    };
    for (const p of procs) await p.chain.get(Row, { id: HOT }); // warm
    for (const p of procs) p.database.resetCounts();
    ctx.log(`case 10: ${seconds} s of writes every ${WRITE_EVERY_MS} ms and reads in 2 processes`);
    await Promise.all([write(), ...procs.map(read)]);
    const dbReads = procs.map((p) => p.database.calls('batchGet'));
    await Promise.all(procs.map((p) => p.chain.release()));
    await writer.close();
    const perWrite = (n: number): number => n / Math.max(1, writes);
    return {
      rows: [],
      checks: [
        { label: 'writes', value: writes, kind: 'count' },
        { label: 'reads, both processes', value: procs[0]!.reads + procs[1]!.reads, kind: 'count' },
        atMost('database reads per write, writing process', perWrite(dbReads[0]!), 1.1),
        atMost('database reads per write, other process', perWrite(dbReads[1]!), 1.1),
        exactly('stale reads served by Redis or the database', procs[0]!.staleFromBelow + procs[1]!.staleFromBelow, 0),
        exactly('stale reads served by the writing process\'s first tier', procs[0]!.staleFromFirstTier, 0),
        { label: 'stale reads served by the other process\'s first tier (within its 1 s lifetime; no bus)', value: procs[1]!.staleFromFirstTier, kind: 'count' },
      ],
      notes: [
        `${seconds} s; both processes run in this one Node process, each with its own ProcessMemoryStore and Redis connection; database reads counted at each process's MikroOrmStore`,
        'peers (bentocache, cache-manager) under the same load: not measured yet',
      ],
    };
  },
};
