/**
 * A second process for chained-store-bus.multiprocess.integration.test.ts: a chain [memory, Redis]
 * with its own RedisBus, driven by the parent over IPC ({ op, id } → { ok, version, sharedReads }).
 */
import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { RedisBus, RedisStore } from '@stockpyle/redis';

@Stockpyle({ keys: ['id'], name: 'test.multiproc.User' })
class User {
  constructor(
    public id: number,
    public version: number,
  ) {}
}

const url = process.env.CHILD_REDIS_URL!;
const prefix = process.env.CHILD_PREFIX!;
const memory = new ProcessMemoryStore();
const redis = CountingStore.wrap(new RedisStore({ url, prefix }));
const bus = new RedisBus({ url, prefix, name: 'bus-child' });
const chain = new ChainedStore([memory, redis], { bus });

type Request = { op: 'read' | 'held' | 'quit'; id: number };
process.on('message', (m: Request) => {
  void (async () => {
    if (m.op === 'quit') {
      await chain.release();
      await bus.release();
      process.send!({ ok: true }, () => process.exit(0));
      return;
    }
    redis.resetCounts();
    const store = m.op === 'read' ? chain : memory;
    const found = await store.get(User, { id: m.id });
    process.send!({ ok: true, version: found?.version, sharedReads: redis.calls('lookup', 'batchGet') });
  })();
});
chain.on('bus', (e) => {
  if (e.state === 'connected') process.send!({ ready: true });
});
