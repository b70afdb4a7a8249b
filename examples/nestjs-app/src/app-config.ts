/** What the app needs from its environment; see the README for the variables. */
export interface AppConfig {
  /** PostgreSQL connection URL; the database is created when missing. */
  readonly pgUrl: string;
  /** The shared cache tier: Redis at this URL. */
  readonly redisUrl: string;
  /** Prefix of the app's cache keys in Redis, so several apps can share one server. */
  readonly cachePrefix: string;
  /**
   * Seconds a product stays in the memory and Redis tiers. Writes through MikroORM update the caches
   * at once; this bounds how long a change made around the ORM (raw SQL, nativeUpdate) can go unseen.
   */
  readonly cacheLifetime: number;
  /**
   * Seconds a cache key stays blocked for back-fills after a write invalidated it, so a read that
   * started before the write cannot put the old version back. Reads go to the database meanwhile.
   */
  readonly tombstoneLifetime: number;
  readonly host: string;
  readonly port: number;
  /** Print every SQL statement (MikroORM's query log). */
  readonly logQueries: boolean;
}

/** Reads the configuration from environment variables, with defaults for a local run. */
export function appConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a TCP port number, got ${env.PORT}`);
  return {
    pgUrl: env.STOCKPYLE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/stockpyle_example',
    redisUrl: env.STOCKPYLE_REDIS_URL ?? 'redis://127.0.0.1:6379',
    cachePrefix: env.CACHE_PREFIX ?? 'nestjs-app',
    cacheLifetime: positive('CACHE_LIFETIME', env.CACHE_LIFETIME ?? '3600'),
    tombstoneLifetime: positive('CACHE_TOMBSTONE_LIFETIME', env.CACHE_TOMBSTONE_LIFETIME ?? '5'),
    host: env.HOST ?? '127.0.0.1',
    port,
    logQueries: env.LOG_QUERIES === '1' || env.LOG_QUERIES === 'true',
  };
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${name} must be a positive number, got ${value}`);
  return n;
}
