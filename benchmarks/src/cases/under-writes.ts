import { setTimeout as sleep } from 'node:timers/promises';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { RedisBus, RedisStore } from '@stockpyle/redis';
import { busConnected } from '../bus-connected';
import type { BenchCase, BenchContext } from '../case';
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
  readonly bus: RedisBus | undefined;
  reads: number;
  staleFromFirstTier: number;
  staleFromBelow: number;
}

/** What one pass of case 10 counted. */
interface Pass {
  readonly writes: number;
  readonly reads: number;
  /** Database reads per write, writing process and other process. */
  readonly perWrite: readonly [number, number];
  readonly staleFromBelow: number;
  readonly staleFromFirstTier: readonly [number, number];
}

/**
 * One pass of case 10 for `seconds`: one hot row changed twice a second through MikroORM (the
 * subscriber invalidates the writer's chain after each commit) while two application processes
 * each read it about 1,000 times a second through [process memory, 1 s lifetime; Redis;
 * PostgreSQL], each chain with its own RedisBus when `withBus`. Counts the database reads the
 * caches made per write, and the reads that returned an older revision than the database had
 * committed when the read started, by the tier that served them.
 */
async function pass(ctx: BenchContext, seconds: number, withBus: boolean): Promise<Pass> {
  const prefix = withBus ? 'bench-under-writes-bus' : 'bench-under-writes';
  const writer = await openOrm(ctx.urls.postgres!, { seed: false });
  const procs: Proc[] = [0, 1].map((i) => {
    const memory = new ProcessMemoryStore({ lifetime: () => 1, name: `memory@p${i}` });
    const database = CountingStore.wrap(new MikroOrmStore({ orm: writer.orm }));
    const bus = withBus ? new RedisBus({ url: ctx.urls.redis!, prefix, name: `bus@p${i}` }) : undefined;
    const chain = new ChainedStore([memory, new RedisStore({ url: ctx.urls.redis!, prefix }), database], { bus });
    return { memory, database, chain, bus, reads: 0, staleFromFirstTier: 0, staleFromBelow: 0 };
  });
  for (const p of procs) if (p.bus !== undefined) await busConnected(p.bus);
  // The writing process is p0: its subscriber keeps its own chain (and so Redis) right, and with
  // a bus its chain tells p1.
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
  ctx.log(`case 10: ${seconds} s of writes every ${WRITE_EVERY_MS} ms and reads in 2 processes, ${withBus ? 'with' : 'without'} a bus`);
  await Promise.all([write(), ...procs.map(read)]);
  const dbReads = procs.map((p) => p.database.calls('batchGet'));
  await Promise.all(procs.map((p) => p.chain.release()));
  await Promise.all(procs.map((p) => p.bus?.release()));
  await writer.close();
  const perWrite = (n: number): number => n / Math.max(1, writes);
  return {
    writes,
    reads: procs[0]!.reads + procs[1]!.reads,
    perWrite: [perWrite(dbReads[0]!), perWrite(dbReads[1]!)],
    staleFromBelow: procs[0]!.staleFromBelow + procs[1]!.staleFromBelow,
    staleFromFirstTier: [procs[0]!.staleFromFirstTier, procs[1]!.staleFromFirstTier],
  };
}

/** Case 10: `pass` without a bus, then with a RedisBus on each process's chain. */
export const underWrites: BenchCase = {
  id: 10,
  title: 'Under writes: a hot row changed twice a second, read by two processes, without and with a bus',
  needs: ['memcached', 'redis', 'postgres'],
  async run(ctx) {
    await databaseStack(ctx); // creates and fills the table
    const seconds = ctx.quick ? 3 : 10;
    const plain = await pass(ctx, seconds, false);
    const bus = await pass(ctx, seconds, true);
    return {
      rows: [],
      checks: [
        { label: 'writes without a bus', value: plain.writes, kind: 'count' },
        { label: 'writes with a bus', value: bus.writes, kind: 'count' },
        { label: 'reads, both processes, without a bus', value: plain.reads, kind: 'count' },
        { label: 'reads, both processes, with a bus', value: bus.reads, kind: 'count' },
        atMost('database reads per write, writing process', plain.perWrite[0], 1.1),
        atMost('database reads per write, other process', plain.perWrite[1], 1.1),
        atMost('database reads per write, writing process, with a bus', bus.perWrite[0], 1.1),
        atMost('database reads per write, other process, with a bus', bus.perWrite[1], 1.1),
        exactly('stale reads served by Redis or the database', plain.staleFromBelow + bus.staleFromBelow, 0),
        exactly("stale reads served by the writing process's first tier", plain.staleFromFirstTier[0] + bus.staleFromFirstTier[0], 0),
        { label: "stale reads served by the other process's first tier, no bus (within its 1 s lifetime)", value: plain.staleFromFirstTier[1], kind: 'count' },
        { label: "stale reads served by the other process's first tier, with a RedisBus", value: bus.staleFromFirstTier[1], kind: 'count' },
      ],
      notes: [
        `${seconds} s per pass; both processes run in this one Node process, each with its own ProcessMemoryStore, Redis connection and (second pass) RedisBus; database reads counted at each process's MikroOrmStore`,
        "a read counts as stale when it returns an older revision than the writer's flush had returned before the read began; with a bus, the other process can still read the old revision between that moment and the message's arrival",
        'peers (bentocache, cache-manager) under the same load: not measured yet',
      ],
    };
  },
};
