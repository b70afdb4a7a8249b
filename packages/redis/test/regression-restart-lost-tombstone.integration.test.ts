import 'reflect-metadata';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ChainedStore, Stockpyle } from '@stockpyle/core';
import { RedisStore } from '@stockpyle/redis';
import { Cluster, Redis } from 'ioredis';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';
import { MemoryDatabase } from '../../core/test/support/memory-database';

@Stockpyle({ keys: ['id'], name: 'test.redisRestartLostTombstone.Doc' })
class Doc {
  constructor(
    public id: number,
    public version: number,
  ) {}
}

const REDIS_URL = serviceUrl('redis');
const CLUSTER_SEEDS = clusterNodes().map(({ host, port }) => `${host}:${port}`);
let seq = Math.floor(Math.random() * 1_000_000) * 10;

/** A database whose next read answers at once but hands its rows back only when told. */
function holdNextRead(db: MemoryDatabase): { readonly read: Promise<void>; release(): void } {
  let release = (): void => undefined;
  let entered = (): void => undefined;
  const read = new Promise<void>((resolve) => (entered = resolve));
  const held = new Promise<void>((resolve) => (release = resolve));
  const batchGet = db.batchGet.bind(db);
  db.batchGet = async (cls, queries) => {
    db.batchGet = batchGet;
    const rows = await batchGet(cls, queries);
    entered();
    await held;
    return rows;
  };
  return { read, release };
}

/** Every connection of `client` to Redis (each Cluster node's), as `[node, CLIENT ID]`. */
async function connections(client: Redis | Cluster): Promise<[Redis, number][]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  return Promise.all(nodes.map(async (node) => [node, Number(await node.client('ID'))] as [Redis, number]));
}

/** Resolves once `client` (every Cluster node) answers again. */
async function reconnected(client: Redis | Cluster): Promise<void> {
  for (;;) {
    if (client.status === 'ready') {
      const nodes = client instanceof Cluster ? client.nodes('master') : [client];
      if ((await Promise.all(nodes.map((node) => node.ping().catch(() => undefined)))).every((pong) => pong === 'PONG')) return;
    }
    await Promise.race([once(client, 'ready'), sleep(20)]);
  }
}

// What a Redis without persistence does when it restarts: the store's connections close and the
// keys are gone. The regression (found by the race suite races/model on the real servers, seed
// 20261203): a read that began before the restart added the row it read, deleted meanwhile, where
// the delete's tombstone had been, and every process then served the deleted row.
describe.each([
  ['standalone', () => new RedisStore({ url: REDIS_URL, prefix: `restart-${process.pid}` }), () => [new Redis(REDIS_URL)]],
  [
    'Cluster',
    () => new RedisStore({ url: CLUSTER_SEEDS, prefix: `restart-${process.pid}` }),
    () => clusterNodes().map(({ host, port }) => new Redis({ host, port })),
  ],
] as const)('RedisStore (%s) whose server restarts empty', (_label, open, admins) => {
  const stores: RedisStore[] = [];
  const clients: Redis[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.release()));
    clients.forEach((c) => c.disconnect());
  });

  it('refuses the fill of a read that began before its connection closed', async () => {
    const redis = open();
    stores.push(redis);
    const db = new MemoryDatabase();
    const doc = new Doc(++seq, 1);
    await db.put(doc);
    const chain = new ChainedStore([redis, db]);
    const skips: string[] = [];
    redis.on('skip', (e) => skips.push(e.reason));
    await redis.get(Doc, { id: doc.id }); // connects
    const database = holdNextRead(db);
    const reading = chain.get(Doc, { id: doc.id });
    await database.read;
    await chain.delete(doc); // a settled tombstone in Redis
    // The restart: the keys go, then every connection of the store is closed by the server.
    const admin = admins();
    clients.push(...admin);
    const keys = (await Promise.all(admin.map((a) => a.keys(`*restart-${process.pid}*`)))).flat();
    expect(keys.length).toBeGreaterThan(0);
    await Promise.all(admin.map((a) => Promise.all(keys.map((k) => a.del(k).catch(() => 0)))));
    for (const [node, id] of await connections(redis.client)) {
      const closed = once(node, 'close');
      await admin.find((a) => a.options.port === node.options.port)!.client('KILL', 'ID', String(id));
      await closed;
    }
    // Back up, reconnected: the fill below reaches the emptied server, as it would after a restart.
    await reconnected(redis.client);
    database.release();
    expect(await reading).toMatchObject({ id: doc.id, version: 1 });
    expect(await redis.get(Doc, { id: doc.id })).toBeUndefined();
    expect(await chain.get(Doc, { id: doc.id })).toBeUndefined();
    expect(skips).toContain('the backend was unreachable too recently to trust its tombstones');
  });
});
