import type { MikroORM } from '@mikro-orm/core';
import { AsyncLocalStore, ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { MikroOrmStore } from '@stockpyle/mikro-orm';
import type { StockpyleStoresConfig } from '@stockpyle/nestjs';
import { RedisStore } from '@stockpyle/redis';
import type { AppConfig } from './app-config';

/** The chain's tiers, fastest first, each also a named store (for the stats endpoint and the tests). */
export const TIER_NAMES = ['request', 'memory', 'redis', 'database'] as const;

/** `default` is the chain the services read through. */
export const STORE_NAMES = ['default', ...TIER_NAMES] as const;

/**
 * Builds the chain [per-request, process memory, Redis, PostgreSQL through MikroORM]. The module
 * owns these stores: it releases them (the Redis connection) when the app shuts down.
 */
export function buildStores(orm: MikroORM, config: AppConfig): StockpyleStoresConfig {
  const cache = { lifetime: () => config.cacheLifetime, tombstoneLifetime: config.tombstoneLifetime };
  const tiers = {
    request: new AsyncLocalStore({ name: 'request', ...cache }),
    memory: new ProcessMemoryStore({ name: 'memory', max: 10_000, ...cache }),
    redis: new RedisStore({ name: 'redis', url: config.redisUrl, prefix: config.cachePrefix, ...cache }),
    database: new MikroOrmStore({ name: 'database', orm }),
  };
  const chain = new ChainedStore([tiers.request, tiers.memory, tiers.redis, tiers.database], { name: 'products' });
  return { stores: { default: chain, ...tiers } };
}
