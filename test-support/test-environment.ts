/**
 * The shared servers of a test run, handed to jest through environment variables: started by
 * scripts/test.mjs (`startTestServices`), read by integration tests (`serviceUrl`).
 */
import {
  ensureInstalled,
  startMemcached,
  startPostgres,
  startRedis,
  startRedisCluster,
  type ServiceKind,
} from './services';

/**
 * The variables naming each shared server, and their formats:
 * memcached `127.0.0.1:11211[,127.0.0.1:11212]`, redis `redis://127.0.0.1:6379`,
 * cluster seeds `127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002`,
 * postgres `postgresql://postgres@127.0.0.1:5432/stockpyle_test`.
 */
export const SERVICE_ENV = {
  memcached: 'STOCKPYLE_MEMCACHE_SERVERS',
  redis: 'STOCKPYLE_REDIS_URL',
  redisCluster: 'STOCKPYLE_REDIS_CLUSTER_NODES',
  postgres: 'STOCKPYLE_PG_URL',
} as const;

export type SharedService = keyof typeof SERVICE_ENV;

/** The address of a shared server from the environment; throws, saying how to get one, when unset. */
export function serviceUrl(service: SharedService, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[SERVICE_ENV[service]];
  if (!value) {
    throw new Error(
      `${SERVICE_ENV[service]} is not set: run integration tests with \`npm test\`, which starts the servers, ` +
        'or set it to a running server.',
    );
  }
  return value;
}

/** Cluster seeds from STOCKPYLE_REDIS_CLUSTER_NODES as `{ host, port }`, the shape ioredis's `Cluster` takes. */
export function clusterNodes(env: NodeJS.ProcessEnv = process.env): { host: string; port: number }[] {
  return serviceUrl('redisCluster', env)
    .split(',')
    .map((seed) => {
      const colon = seed.lastIndexOf(':');
      return { host: seed.slice(0, colon), port: Number(seed.slice(colon + 1)) };
    });
}

/** The shared servers of one run. */
export interface TestServices {
  /** The four variables, for the test runner's environment. */
  env: Record<string, string>;
  /** What was started, e.g. `memcached 127.0.0.1:41234`, `redis-cluster 127.0.0.1:7000,…`. */
  started: string[];
  /** Variables that were already set and are used as they are. */
  reused: string[];
  /** Stops what was started (never a reused server). */
  stop(): Promise<void>;
}

const KIND: Record<SharedService, ServiceKind> = {
  memcached: 'memcached',
  redis: 'redis',
  redisCluster: 'redis',
  postgres: 'postgres',
};

const START: Record<SharedService, () => Promise<{ name: string; url: string; stop(): Promise<void> }>> = {
  memcached: startMemcached,
  redis: startRedis,
  redisCluster: startRedisCluster,
  postgres: startPostgres,
};

/**
 * Starts, in parallel, every shared server whose variable `env` does not already set, installing
 * missing binaries first (as root). If any fails, stops the others and throws.
 */
export async function startTestServices(env: NodeJS.ProcessEnv = process.env): Promise<TestServices> {
  const services = Object.keys(SERVICE_ENV) as SharedService[];
  const wanted = services.filter((service) => !env[SERVICE_ENV[service]]);
  const reused = services.filter((service) => env[SERVICE_ENV[service]]).map((service) => SERVICE_ENV[service]);
  await ensureInstalled([...new Set(wanted.map((service) => KIND[service]))]);

  const results = await Promise.allSettled(wanted.map((service) => START[service]()));
  const handles = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.allSettled(handles.map((handle) => handle.stop()));
  };
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
  if (failures.length > 0) {
    await stop();
    const messages = failures.map((error) => error.message).join('\n');
    throw new AggregateError(failures, `could not start ${failures.length} service(s):\n${messages}`);
  }

  const vars: Record<string, string> = {};
  for (const service of services) vars[SERVICE_ENV[service]] = env[SERVICE_ENV[service]] as string;
  const started = wanted.map((service, i) => {
    const { name, url } = handles[i];
    vars[SERVICE_ENV[service]] = url;
    return `${name} ${url}`;
  });
  return { env: vars, started, reused, stop };
}
