export { MemcacheStore } from './memcache-store';
export type { MemcacheStoreOptions, MemjsClient } from './options';
export { DEFAULT_MAX_VALUE_BYTES, DEFAULT_TIMEOUT_MS } from './options';
export { toMemcachedExpiry, MAX_RELATIVE_EXPIRY } from './memcached-expiry';
export { UnsafeKeyError } from './errors';
