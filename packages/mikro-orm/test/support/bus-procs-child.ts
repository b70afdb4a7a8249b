/**
 * One of the processes of bus-processes.integration.test.ts: a chain [process memory (no lifetime),
 * Redis, MikroOrmStore] with its own RedisBus and a StockpyleSubscriber, on the parent's PostgreSQL
 * schema. It reads the shared rows in a loop and writes when told (over IPC), and keeps a log of
 * what it saw, all times on one clock shared by every process (performance.timeOrigin + now()).
 */
import 'reflect-metadata';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import type { EventSubscriber } from '@mikro-orm/core';
import { ChainedStore, ProcessMemoryStore, type BusState } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { RedisBus, RedisStore } from '@stockpyle/redis';
import { Article, ENTITIES } from './entities';
import type { ChildConfig, ChildReport, ParentMessage, ReadRecord } from './bus-procs-protocol';

const now = (): number => performance.timeOrigin + performance.now();
const config = JSON.parse(process.env.BUS_PROCS_CONFIG!) as ChildConfig;

/** Records the moment each root transaction of this process commits, before the cache subscriber runs. */
let committedAt = 0;
let publishedAt = 0;
const commitClock: EventSubscriber = {
  afterTransactionCommit: () => {
    committedAt = now();
  },
};

const reads: ReadRecord[] = [];
const states: { state: BusState; at: number }[] = [];
let reading = false;
/** How late this process's event loop runs its callbacks: a message that arrived waits that long to be read. */
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
let loop: Promise<void> = Promise.resolve();

async function main(): Promise<void> {
  const orm = await MikroORM.init({
    clientUrl: config.pgUrl,
    entities: ENTITIES,
    schema: config.schema,
    allowGlobalContext: false,
    pool: { min: 0, max: 2 },
  });
  const redis = CountingStore.wrap(new RedisStore({ url: config.storeUrl, prefix: config.prefix }));
  const database = CountingStore.wrap(new MikroOrmStore({ orm }));
  const memory = new ProcessMemoryStore();
  const bus = new RedisBus({ url: config.busUrl, prefix: config.prefix, name: `bus-${config.index}` });
  const chain = new ChainedStore([memory, redis, database], { bus, maxStaleWhileDisconnected: config.maxStale, name: `chain-${config.index}` });
  const errors: string[] = [];
  chain.on('error', (e) => errors.push(`${e.operation}: ${String(e.error)}`));
  // After the chain's own listener: when this runs, the chain's memory tier has settled the keys.
  bus.subscribe({
    keys: (keys) => {
      process.send!({ type: 'receipt', keys, at: now() });
    },
    state: () => undefined,
  });
  chain.on('bus', (e) => {
    states.push({ state: e.state, at: now() });
    process.send!({ type: 'state', state: e.state, at: now() });
  });
  // The moment the chain hands the keys of a commit to the bus (after the shared tiers changed).
  const publish = bus.publish.bind(bus);
  bus.publish = (keys) => {
    publishedAt = now();
    publish(keys);
  };
  orm.em.getEventManager().registerSubscriber(commitClock);
  orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));

  const readOnce = async (): Promise<void> => {
    const id = 1 + Math.floor(Math.random() * config.rows);
    const start = now();
    const found = await chain.get(Article, { id });
    reads.push({ id, start, end: now(), version: found?.version ?? 0 });
  };
  const readLoop = async (): Promise<void> => {
    while (reading) {
      try {
        await readOnce();
      } catch (error) {
        errors.push(`read: ${String(error)}`);
      }
      // Paced, so that four processes leave the 2-core machine room for Redis and PostgreSQL.
      await new Promise((resolve) => setTimeout(resolve, config.readEveryMs));
    }
  };

  process.on('message', (m: ParentMessage) => {
    void (async () => {
      switch (m.op) {
        case 'write': {
          const em = orm.em.fork();
          const article = await em.findOneOrFail(Article, { id: m.id });
          article.title = m.title;
          committedAt = 0;
          publishedAt = 0;
          await em.flush();
          process.send!({ type: 'wrote', id: m.id, version: article.version, committedAt, publishedAt, flushedAt: now() });
          break;
        }
        case 'read':
          reading = m.on;
          if (m.on) loop = readLoop();
          else await loop;
          process.send!({ type: 'done' });
          break;
        case 'report': {
          const report: ChildReport = {
            type: 'report',
            reads: reads.splice(0),
            states: states.splice(0),
            errors: errors.splice(0),
            redisReads: redis.calls('lookup', 'get', 'batchGet'),
            databaseReads: database.calls('get', 'batchGet'),
            loopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6 },
          };
          loopDelay.reset();
          redis.resetCounts();
          database.resetCounts();
          process.send!(report);
          break;
        }
        case 'quit':
          reading = false;
          await loop;
          await chain.release();
          await bus.release();
          await orm.close(true);
          process.send!({ type: 'done' }, () => process.exit(0));
          break;
      }
    })().catch((error: unknown) => process.send!({ type: 'failed', error: String((error as Error)?.stack ?? error) }));
  });
  process.send!({ type: 'ready' });
}

// The parent is gone (a failed or interrupted test): nothing may keep reading on its servers.
process.on('disconnect', () => process.exit(1));

main().catch((error: unknown) => {
  process.send!({ type: 'failed', error: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
