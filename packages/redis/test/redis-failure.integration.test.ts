import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ChainedStore, ProcessMemoryStore, Stockpyle, StockpyleError, TimeoutError, type StoreEvent } from '@stockpyle/core';
import { Redis } from 'ioredis';
import { RedisStore } from '@stockpyle/redis';
import { eventually } from '../../../test-support/eventually';
import { startRedis, startRedisCluster, type RedisClusterHandle, type ServiceHandle } from '../../../test-support/services';
import { MemoryDatabase } from '../../core/test/support/memory-database';

// Failure tests kill, freeze and restart servers of their own, never the shared ones.
// Recovery waits for ioredis's background reconnection (up to 2 s between attempts).
jest.setTimeout(30_000);

@Stockpyle({ keys: ['id'], name: 'redis-failure.Item' })
class Item {
  constructor(
    public id: number,
    public label: string,
  ) {}
}

/** The store's per-operation deadline in these tests. */
const TIMEOUT = 300;
/**
 * How long a call may take when Redis is dead or frozen: the store's deadline plus generous slack
 * for a loaded CI machine. Without the fail-fast settings ioredis would wait for many seconds.
 */
const BOUND = TIMEOUT + 1200;

let seq = Math.floor(Math.random() * 1e9);
const item = (): Item => new Item(++seq, `item ${seq}`);

/** How long `promise` took to settle, and how. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/**
 * Stores `objs` in Redis and reads them back, retrying: the first calls of a fresh client connect
 * (a Cluster discovers its slots) and may miss the short test deadline on a loaded machine.
 */
async function storeInRedis(store: RedisStore, objs: Item[]): Promise<void> {
  await eventually(async () => {
    await store.batchPut(objs);
    const got = await store.batchGet(Item, objs.map((o) => ({ id: o.id })));
    expect(got.map((o) => o?.label)).toEqual(objs.map((o) => o.label));
  });
}

/** A chain [memory, redis, database] with a fresh memory tier, so reads reach Redis. */
function chainOver(redis: RedisStore, db: MemoryDatabase): ChainedStore {
  return new ChainedStore([new ProcessMemoryStore(), redis, db], { breaker: { failureThreshold: 3, resetAfter: 200 } });
}

const consoleSpies: ReturnType<typeof jest.spyOn>[] = [];
beforeEach(() => {
  consoleSpies.push(jest.spyOn(console, 'error'), jest.spyOn(console, 'warn'), jest.spyOn(console, 'log'));
});
afterEach(() => {
  // ioredis prints "[ioredis] Unhandled error event" when nobody listens: the store always listens.
  for (const spy of consoleSpies.splice(0)) {
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  }
});

describe('RedisStore when a standalone Redis fails', () => {
  let server: ServiceHandle;
  let store: RedisStore;
  let db: MemoryDatabase;
  const errors: StoreEvent[] = [];

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    db = new MemoryDatabase();
    store = new RedisStore({ url: server.url, timeout: TIMEOUT });
    store.on('error', (e) => errors.push(e));
    errors.length = 0;
  });
  afterEach(async () => {
    await store.release();
  });

  it('a killed Redis fails a call at once, the chain answers from the database, and both recover after a restart', async () => {
    const stored = item();
    await db.put(stored);
    await storeInRedis(store, [stored]);

    server.kill('SIGKILL');
    const alone = await timed(store.get(Item, { id: stored.id }));
    expect(alone.error).toBeInstanceOf(StockpyleError);
    expect(alone.ms).toBeLessThan(BOUND);

    const chain = chainOver(store, db);
    const chainErrors: StoreEvent[] = [];
    chain.on('error', (e) => chainErrors.push(e));
    const viaChain = await timed(chain.get(Item, { id: stored.id }));
    expect(viaChain.error).toBeUndefined();
    expect(viaChain.value?.label).toBe(stored.label);
    expect(viaChain.ms).toBeLessThan(BOUND);
    expect(chainErrors.length).toBeGreaterThan(0);
    // ioredis keeps reconnecting in the background; each refused attempt is reported, not printed
    await eventually(async () => {
      expect(errors.some((e) => e.type === 'error' && e.operation === 'connection')).toBe(true);
    });

    await server.restart();
    await storeInRedis(store, [item()]);
  });

  it('a frozen Redis (SIGSTOP) fails a call within the deadline, the chain answers from the database, and both recover on resume', async () => {
    const stored = item();
    await db.put(stored);
    await storeInRedis(store, [stored]);

    server.pause();
    try {
      const alone = await timed(store.get(Item, { id: stored.id }));
      expect(alone.error).toBeInstanceOf(StockpyleError);
      expect(alone.ms).toBeLessThan(BOUND);

      const chain = chainOver(store, db);
      for (let i = 0; i < 5; i++) {
        const viaChain = await timed(chain.get(Item, { id: stored.id }));
        expect(viaChain.value?.label).toBe(stored.label);
        expect(viaChain.ms).toBeLessThan(BOUND);
      }
    } finally {
      server.resume();
    }
    // what was in Redis before the freeze is still there, and the store uses it again
    await eventually(async () => {
      expect((await store.get(Item, { id: stored.id }))?.label).toBe(stored.label);
    });
    await storeInRedis(store, [item()]);
  });

  it('a store created while Redis is down answers at once and starts working when Redis comes up', async () => {
    server.kill('SIGKILL');
    const late = new RedisStore({ url: server.url, timeout: TIMEOUT });
    late.on('error', () => undefined);
    try {
      const first = await timed(late.get(Item, { id: 1 }));
      expect(first.error).toBeInstanceOf(StockpyleError);
      expect(first.ms).toBeLessThan(BOUND);
      const chain = chainOver(late, db);
      const stored = item();
      await db.put(stored);
      const viaChain = await timed(chain.get(Item, { id: stored.id }));
      expect(viaChain.value?.label).toBe(stored.label);
      expect(viaChain.ms).toBeLessThan(BOUND);

      await server.restart();
      await storeInRedis(late, [stored]);
    } finally {
      await late.release();
    }
  });

  it('a given client with ioredis defaults (offline queue on) still ends each call within the deadline', async () => {
    const client = new Redis(server.url);
    const given = new RedisStore({ client, timeout: TIMEOUT });
    given.on('error', () => undefined);
    try {
      const stored = item();
      await storeInRedis(given, [stored]);
      server.kill('SIGKILL');
      const alone = await timed(given.get(Item, { id: stored.id }));
      expect(alone.error).toBeInstanceOf(TimeoutError);
      expect(alone.ms).toBeLessThan(BOUND);
      await server.restart();
      await storeInRedis(given, [stored]);
    } finally {
      await given.release();
      expect(client.status).toBe('ready');
      client.disconnect();
    }
  });

  it('a store released while Redis is down reconnects on its next call once Redis is back', async () => {
    const stored = item();
    await storeInRedis(store, [stored]);
    server.kill('SIGKILL');
    await expect(store.get(Item, { id: stored.id })).rejects.toBeInstanceOf(StockpyleError);
    await store.release();
    await server.restart();
    await storeInRedis(store, [stored]);
  });
});

describe('RedisStore when a Cluster node fails', () => {
  let cluster: RedisClusterHandle;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it('a frozen master makes the chain answer from the database within the deadline; all recovers on resume', async () => {
    const store = new RedisStore({ url: cluster.url.split(','), timeout: TIMEOUT });
    store.on('error', () => undefined);
    const db = new MemoryDatabase();
    try {
      const batch = Array.from({ length: 30 }, item);
      await db.batchPut(batch);
      await storeInRedis(store, batch);
      const node = cluster.nodes[0]!;
      node.pause();
      try {
        const chain = chainOver(store, db);
        const got = await timed(chain.batchGet(Item, batch.map((i) => ({ id: i.id }))));
        expect(got.error).toBeUndefined();
        expect(got.value?.map((i) => i?.label)).toEqual(batch.map((i) => i.label));
        expect(got.ms).toBeLessThan(BOUND);
      } finally {
        node.resume();
      }
      await eventually(async () => {
        const got = await store.batchGet(Item, batch.map((i) => ({ id: i.id })));
        expect(got.map((i) => i?.label)).toEqual(batch.map((i) => i.label));
      });
    } finally {
      await store.release();
    }
  }, 30_000);

  it('a killed and restarted master: the chain answers from the database meanwhile, and the store recovers', async () => {
    const store = new RedisStore({ url: cluster.url.split(','), timeout: TIMEOUT });
    store.on('error', () => undefined);
    const db = new MemoryDatabase();
    try {
      const batch = Array.from({ length: 30 }, item);
      await db.batchPut(batch);
      await storeInRedis(store, batch);
      const node = cluster.nodes[1]!;
      node.kill('SIGKILL');
      const chain = chainOver(store, db);
      const got = await timed(chain.batchGet(Item, batch.map((i) => ({ id: i.id }))));
      expect(got.value?.map((i) => i?.label)).toEqual(batch.map((i) => i.label));
      expect(got.ms).toBeLessThan(BOUND);

      await node.restart();
      await cluster.waitUntilHealthy();
      await storeInRedis(store, batch);
    } finally {
      await store.release();
    }
  }, 40_000);
});
