import fc from 'fast-check';
import type { CacheStoreOptions, CacheTier } from '@stockpyle/core';
import { FakeCacheServer, FakeMemcachedStore, FakeRedisStore } from './fake-servers';
import type { Kind, TierKit, World } from './world';

/** Shared tiers on Map-backed fakes of memcached and Redis, each drawn per tier and per schedule. */
export const fakeKit: TierKit = {
  name: 'raw fakes',
  kinds: (n) => fc.array(fc.constantFrom<Kind>('memcached', 'redis'), { minLength: n, maxLength: n }),
  open: (world, kinds) => kinds.map((kind, i) => new FakeCacheServer(`${kind}${i}`, world.clock)),
  tiers(world: World, proc: string, options: CacheStoreOptions): CacheTier[] {
    return world.servers.map((server, i) => {
      const Store = world.kinds[i] === 'memcached' ? FakeMemcachedStore : FakeRedisStore;
      return new Store(server as FakeCacheServer, world.gates, { ...options, name: `${server.name}@${proc}` });
    });
  },
  close: () => Promise.resolve(),
};
