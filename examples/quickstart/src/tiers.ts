import { DictionaryStore, type Store } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { RedisStore } from '@stockpyle/redis';

/** A tier below process memory, with a name to print. */
export interface NamedTier {
  name: string;
  store: Store;
}

/**
 * The cache tiers under process memory: memcached and Redis when STOCKPYLE_MEMCACHE_SERVERS and
 * STOCKPYLE_REDIS_URL name them, else an in-process dictionary standing in for a shared cache, so
 * the demo runs with nothing installed.
 */
export function cacheTiers(env: NodeJS.ProcessEnv = process.env): NamedTier[] {
  const tiers: NamedTier[] = [];
  if (env.STOCKPYLE_MEMCACHE_SERVERS) {
    tiers.push({ name: 'memcached', store: new MemcacheStore({ servers: env.STOCKPYLE_MEMCACHE_SERVERS.split(',') }) });
  }
  if (env.STOCKPYLE_REDIS_URL) tiers.push({ name: 'redis', store: new RedisStore({ url: env.STOCKPYLE_REDIS_URL }) });
  if (tiers.length === 0) tiers.push({ name: 'dictionary (Map)', store: new DictionaryStore(new Map()) });
  return tiers;
}
