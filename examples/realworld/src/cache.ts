/**
 * The one place where stockpyle is wired into the app: everything else (services, controllers,
 * entities) is plain NestJS + MikroORM and does not know whether a cache is there.
 *
 * `realworldCache(options)` gives what to add to the app: Nest `imports` (the chain
 * [process memory 30 s → Redis 1 h → PostgreSQL through `MikroOrmStore`], a `RedisBus` keeping
 * the other processes' memory tiers coherent, and the `StockpyleSubscriber` that invalidates what
 * each commit changed) and `orm`, additions to the MikroORM config: the EntityManager that reads
 * through that chain. The entities declare what is cached (`@Stockpyle` keys and collections).
 */
import type { Options } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/core';
import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ChainedStore, ProcessMemoryStore, type Store } from '@stockpyle/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { MikroOrmStore, stockpyleEntityManager } from '@stockpyle/mikro-orm';
import { StockpyleModule, type StockpyleModuleAsyncOptions, type StockpyleStoresConfig } from '@stockpyle/nestjs';
import { RedisBus, RedisStore } from '@stockpyle/redis';

/** Where the cache lives and how long entries last. */
export interface RealworldCacheOptions {
  /** Redis, for the shared tier and the bus. */
  readonly redisUrl: string;
  /** Prefix of the keys and of the bus channel: processes of one app share it, other apps must not. */
  readonly prefix: string;
  /** Seconds an entity stays in process memory. @default 30 */
  readonly memoryLifetime?: number;
  /** Seconds an entity stays in Redis. @default 3600 */
  readonly redisLifetime?: number;
}

/** What `realworldCache` returns: add `imports` to the app module's and spread `orm` into MikroORM's config. */
export interface RealworldCache {
  readonly imports: DynamicModule[];
  readonly orm: Partial<Options>;
}

const BUS = Symbol('realworld:bus');

/**
 * Owns the bus. StockpyleModule imports it, so Nest shuts it down after StockpyleModule has
 * released the chain that uses it (the chain never releases its bus).
 */
@Module({})
class RealworldBusModule implements OnApplicationShutdown {
  constructor(@Inject(BUS) private readonly bus: RedisBus) {}

  static forRoot(options: RealworldCacheOptions): DynamicModule {
    const bus = { provide: BUS, useFactory: () => new RedisBus({ url: options.redisUrl, prefix: options.prefix, name: 'realworld-bus' }) };
    return { module: RealworldBusModule, providers: [bus], exports: [BUS] };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus.release();
  }
}

/** The chain, fastest tier first, with the bus; the module releases it (and Redis) at shutdown. */
function buildChain(orm: MikroORM, bus: RedisBus, options: RealworldCacheOptions): StockpyleStoresConfig {
  const memory = new ProcessMemoryStore({ name: 'memory', max: 10_000, lifetime: () => options.memoryLifetime ?? 30 });
  const redis = new RedisStore({ name: 'redis', url: options.redisUrl, prefix: options.prefix, lifetime: () => options.redisLifetime ?? 3600 });
  const database = new MikroOrmStore({ name: 'database', orm });
  const chain: Store = new ChainedStore([memory, redis, database], { name: 'realworld', bus });
  return { stores: { default: chain } };
}

/** Turns the cache on: see the module comment above, and the README's "The cache" section. */
export function realworldCache(options: RealworldCacheOptions): RealworldCache {
  const stockpyle: StockpyleModuleAsyncOptions = {
    imports: [RealworldBusModule.forRoot(options)],
    inject: [MikroORM, BUS],
    useFactory: (orm: MikroORM, bus: RedisBus) => buildChain(orm, bus, options),
    // Invalidates, after each commit, what the app's own `em.flush()` changed.
    subscriber: { store: 'default' },
  };
  const orm: Partial<Options> = {
    // The second-level cache: the app's own em.findOne / findOneOrFail / find by keys / populate
    // are answered by the chain of the subscriber above (memory, then Redis, then SQL for what
    // they miss), hydrated into the request's EntityManager.
    entityManager: stockpyleEntityManager(EntityManager),
  };
  return { imports: [StockpyleModule.forRootAsync(stockpyle)], orm };
}
