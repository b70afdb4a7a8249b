import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MemcacheStore } from '@stockpyle/memcache';
import { RedisStore } from '@stockpyle/redis';
import { serviceUrl } from '../../../test-support/test-environment';
import { MemoryDatabase } from '../../core/test/support/memory-database';

@Stockpyle({ keys: ['id', 'slug'], name: 'test.expireEarlier.Page' })
class Page {
  constructor(
    public id: number,
    public slug: string,
    public title: string,
  ) {}
}

const prefix = `expire-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let seq = Math.floor(Math.random() * 1_000_000) * 10;

// stockpyle's "can expire earlier in certain caches": the fast tier's lifetime is shorter than a
// tombstone's, over every remote tier; a put leaves the object everywhere, and once the fast tier's
// copy expired it is refilled from the tier below without asking the database.
describe('ChainedStore [ProcessMemoryStore (1 s), MemcacheStore, RedisStore, database]', () => {
  const memory = CountingStore.wrap(new ProcessMemoryStore({ lifetime: () => 1 }));
  const memcache = new MemcacheStore({ servers: serviceUrl('memcached').split(','), prefix, lifetime: () => 60 });
  const redis = new RedisStore({ url: serviceUrl('redis'), prefix });
  const db = CountingStore.wrap(new MemoryDatabase());
  const chain = new ChainedStore([memory, memcache, redis, db]);
  afterAll(() => chain.release());

  describe('put()', () => {
    it('leaves an object with a short lifetime in every tier at once', async () => {
      const page = new Page(++seq, `p-${seq}`, 'Short');
      await chain.put(page);
      for (const tier of [memory, memcache, redis]) expect(await tier.get(Page, { slug: page.slug })).toMatchObject({ id: page.id });
    });
  });

  describe('get()', () => {
    it('after the fast tier\'s copy expired, refills it from the tier below with no database read', async () => {
      const page = new Page(++seq, `p-${seq}`, 'Refilled');
      await chain.put(page);
      db.resetCounts();
      await sleep(1_200);
      expect(await memory.get(Page, { id: page.id })).toBeUndefined(); // expired here only
      expect(await chain.get(Page, { id: page.id })).toMatchObject({ title: 'Refilled' });
      expect(await memory.get(Page, { slug: page.slug })).toMatchObject({ id: page.id });
      expect(db.calls('batchGet')).toBe(0);
    });

    it('after an invalidation, the first read costs one database read and refills every tier', async () => {
      const page = new Page(++seq, `p-${seq}`, 'Before');
      await chain.put(page);
      const changed = new Page(page.id, page.slug, 'After');
      await db.put(changed);
      await chain.invalidate([changed]);
      db.resetCounts();
      expect(await chain.get(Page, { slug: page.slug })).toMatchObject({ title: 'After' });
      for (const tier of [memory, memcache, redis]) expect(await tier.get(Page, { id: page.id })).toMatchObject({ title: 'After' });
      for (let i = 0; i < 10; i++) await chain.get(Page, { id: page.id });
      expect(db.calls('batchGet')).toBe(1);
    });
  });
});
