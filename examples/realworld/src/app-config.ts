/** The injection token of the `AppConfig`. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** What the app needs from its environment; see the README for the variables. */
export interface AppConfig {
  /** PostgreSQL connection URL; the database is created when missing. */
  readonly pgUrl: string;
  /** Redis for the cache; `undefined` runs the app without any cache (`CACHE=off`). */
  readonly redisUrl: string | undefined;
  /** Prefix of the app's keys and bus channel in Redis, so several apps can share one server. */
  readonly cachePrefix: string;
  /** Secret of the HMAC that signs tokens. The default is for development only. */
  readonly authSecret: string;
  readonly host: string;
  readonly port: number;
  /** Print every SQL statement (MikroORM's query log). */
  readonly logQueries: boolean;
}

/** Reads the configuration from environment variables, with defaults for a local run. */
export function appConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a TCP port number, got ${env.PORT}`);
  const cache = env.CACHE ?? 'on';
  if (cache !== 'on' && cache !== 'off') throw new Error(`CACHE must be 'on' or 'off', got ${cache}`);
  return {
    pgUrl: env.STOCKPYLE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/stockpyle_realworld',
    redisUrl: cache === 'on' ? (env.STOCKPYLE_REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined,
    cachePrefix: env.CACHE_PREFIX ?? 'realworld',
    authSecret: env.AUTH_SECRET ?? 'realworld-development-secret',
    host: env.HOST ?? '127.0.0.1',
    port,
    logQueries: env.LOG_QUERIES === '1' || env.LOG_QUERIES === 'true',
  };
}
