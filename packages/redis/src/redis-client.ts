import { ConfigurationError } from '@stockpyle/core';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { failFastClusterOptions, failFastOptions } from './client-options';
import type { RedisClient } from './command-batch';

/** How a component is given its Redis: exactly one of `url` and `client`. */
export interface RedisClientSource {
  readonly url?: string | readonly string[];
  readonly client?: Redis | Cluster;
  readonly redisOptions?: RedisOptions;
  readonly clusterOptions?: ClusterOptions;
}

/**
 * The client a component uses, and whether it created it (and so may close it): a given client
 * is checked, one from `url` is created with fail-fast settings bounded by `timeout`. Wrong or
 * conflicting options are a `ConfigurationError`.
 */
export function resolveRedisClient(name: string, source: RedisClientSource, timeout: number): { client: RedisClient; owned: boolean } {
  const { url, client, redisOptions, clusterOptions } = source;
  if (client !== undefined) {
    if (url !== undefined) {
      throw new ConfigurationError(`${name} takes either url or client, not both: it would not know which to use`);
    }
    if (redisOptions !== undefined || clusterOptions !== undefined) {
      throw new ConfigurationError(`${name}: redisOptions and clusterOptions apply only to a client created from url; configure your client directly`);
    }
    if (!(client instanceof Redis) && !(client instanceof Cluster) && !looksLikeIoredis(client)) {
      throw new ConfigurationError(`${name}: client must be an ioredis Redis or Cluster instance`);
    }
    return { client: client as RedisClient, owned: false };
  }
  if (url === undefined) {
    throw new ConfigurationError(`${name} needs a server: give { url: 'redis://host:6379' }, { url: [cluster seeds] } or { client }`);
  }
  checkObject(name, 'redisOptions', redisOptions);
  checkObject(name, 'clusterOptions', clusterOptions);
  if (typeof url === 'string') {
    if (url.length === 0) throw new ConfigurationError(`${name}: url must be a non-empty string such as 'redis://127.0.0.1:6379'`);
    if (clusterOptions !== undefined) {
      throw new ConfigurationError(`${name}: clusterOptions need a list of cluster seeds as url; a single url is a standalone server`);
    }
    return { client: new Redis(url, { ...failFastOptions(timeout), ...redisOptions }), owned: true };
  }
  if (!Array.isArray(url) || url.length === 0 || !url.every((seed) => typeof seed === 'string' && seed.length > 0)) {
    throw new ConfigurationError(`${name}: url must be a string, or a non-empty list of cluster seed strings such as ['127.0.0.1:7000']`);
  }
  const defaults = failFastClusterOptions(timeout);
  const cluster = new Cluster([...url], {
    ...defaults,
    ...clusterOptions,
    redisOptions: { ...defaults.redisOptions, ...redisOptions, ...clusterOptions?.redisOptions },
  });
  return { client: cluster, owned: true };
}

/** Checks a positive, finite number of milliseconds (or other positive quantity) option. */
export function checkPositive(name: string, option: string, value: unknown, integer = false): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new ConfigurationError(`${name}: ${option} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return value;
}

/** A client from another copy of ioredis fails `instanceof`; accept what has the methods used. */
function looksLikeIoredis(client: unknown): boolean {
  if (client === null || typeof client !== 'object') return false;
  const c = client as Record<string, unknown>;
  return ['pipeline', 'publish', 'duplicate', 'connect', 'on'].every((m) => typeof c[m] === 'function') && typeof c.status === 'string';
}

function checkObject(name: string, option: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigurationError(`${name}: ${option} must be an object of ioredis options`);
  }
}
