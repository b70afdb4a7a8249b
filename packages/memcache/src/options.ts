import { ConfigurationError, type CacheStoreOptions } from '@stockpyle/core';
import { Client } from 'memjs';

/** Any memjs client: its serializer's types do not matter, the store sends raw protocol requests. */
export type MemjsClient = Client<any, any>;

/** Options of `MemcacheStore`: give `servers` or `client`, not both. */
export interface MemcacheStoreOptions extends CacheStoreOptions {
  /**
   * memcached servers as `'host:port'` (port 11211 when left out); the store creates its own memjs
   * client on first use and closes it on `release()`. Keys are spread over them by memjs's hashing.
   */
  servers?: readonly string[];
  /** A memjs `Client` to use instead; the store never closes it. */
  client?: MemjsClient;
  /** SASL user name, passed to the memjs client the store creates (`servers` only). */
  username?: string;
  /** SASL password (`servers` only); never appears in errors or events. */
  password?: string;
  /**
   * Milliseconds one round trip to memcached may take; past it the call fails with `TimeoutError`
   * (inside a `ChainedStore`: a miss) and the connection is reset. @default 500
   */
  timeout?: number;
  /**
   * Largest encoded value, in bytes, sent to memcached; larger ones are skipped with a 'skip' event.
   * Leaves room for memcached's per-item overhead under its default 1 MiB item size (`-I`).
   * @default 1_047_552
   */
  maxValueBytes?: number;
}

/** 1 MiB (memcached's default item size) minus 1 KiB for the item header, key and CAS. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024 - 1024;
/** Milliseconds one round trip may take by default. */
export const DEFAULT_TIMEOUT_MS = 500;
const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit

/** `[user:pass@]host[:port]`, as memjs parses it; no commas or spaces, which memjs would split on. */
const SERVER = /^(?:[^@\s,]*@)?([^@\s,:]+)(?::(\d{1,5}))?$/;

/** Validated options, in the form the store keeps them. */
export interface MemcacheSettings {
  readonly servers: string | undefined;
  readonly client: MemjsClient | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly timeout: number;
  readonly maxValueBytes: number;
}

/** Shows a server string without the credentials memjs allows in it. */
function redact(server: string): string {
  const at = server.lastIndexOf('@');
  return at < 0 ? server : `***@${server.slice(at + 1)}`;
}

/** Checks `MemcacheStore`'s own options eagerly; throws `ConfigurationError` saying what to fix. */
export function parseMemcacheOptions(name: string, options: MemcacheStoreOptions): MemcacheSettings {
  const { servers, client, username, password, timeout = DEFAULT_TIMEOUT_MS, maxValueBytes = DEFAULT_MAX_VALUE_BYTES } = options;
  if ((servers === undefined) === (client === undefined)) {
    throw new ConfigurationError(
      `${name} needs either servers (e.g. { servers: ['127.0.0.1:11211'] }) or a memjs client ({ client }), ` +
        `not ${servers === undefined ? 'neither' : 'both'}`,
    );
  }
  if (client !== undefined && !isMemjsClient(client)) {
    throw new ConfigurationError(`${name}: client must be a memjs Client (memjs.Client.create(...))`);
  }
  if (client !== undefined && (username !== undefined || password !== undefined)) {
    throw new ConfigurationError(`${name}: username and password go with servers; a given client brings its own credentials`);
  }
  if (servers !== undefined) checkServers(name, servers);
  for (const [field, value] of [['username', username], ['password', password]] as const) {
    if (value !== undefined && typeof value !== 'string') throw new ConfigurationError(`${name}: ${field} must be a string`);
  }
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigurationError(`${name}: SASL needs both username and password`);
  }
  if (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMEOUT_MS) {
    throw new ConfigurationError(`${name}: timeout must be a positive number of milliseconds, got ${String(timeout)}`);
  }
  if (!Number.isSafeInteger(maxValueBytes) || maxValueBytes <= 0) {
    throw new ConfigurationError(`${name}: maxValueBytes must be a positive integer, got ${String(maxValueBytes)}`);
  }
  return { servers: servers?.join(','), client, username, password, timeout, maxValueBytes };
}

function checkServers(name: string, servers: unknown): void {
  if (!Array.isArray(servers) || servers.length === 0) {
    throw new ConfigurationError(`${name}: servers must be a non-empty array of 'host:port' strings`);
  }
  servers.forEach((server: unknown, i) => {
    const match = typeof server === 'string' ? SERVER.exec(server) : null;
    const port = match?.[2] === undefined ? 11211 : Number(match[2]);
    if (match === null || port < 1 || port > 65535) {
      const shown = typeof server === 'string' ? `'${redact(server)}'` : typeof server;
      throw new ConfigurationError(`${name}: servers[${i}] must be 'host:port', got ${shown}`);
    }
  });
}

// Duck-typed on what the store uses, so a second copy of memjs in node_modules still works.
function isMemjsClient(client: unknown): client is MemjsClient {
  const c = client as Partial<MemjsClient> | null;
  return typeof c === 'object' && c !== null && typeof c.server === 'function' && Array.isArray(c.servers);
}

const silent = { log: (): void => undefined };

/**
 * The memjs client a store creates for `servers`: no retries or failover (a key must always reach
 * the same server, or a fill could miss a tombstone), memjs's own timeouts as a backstop behind the
 * store's deadline, and no console logging (failures reach the store as errors).
 */
export function createClient(settings: MemcacheSettings): MemjsClient {
  const backstop = (settings.timeout * 2) / 1000;
  return Client.create(settings.servers, {
    retries: 0,
    failover: false,
    timeout: backstop,
    conntimeout: backstop,
    keepAlive: true,
    logger: silent,
    username: settings.username,
    password: settings.password,
  });
}
