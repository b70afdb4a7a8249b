export { RedisStore } from './redis-store';
export type { RedisStoreOptions } from './redis-store';
export { failFastOptions, failFastClusterOptions } from './client-options';
export { RedisBus } from './redis-bus';
export type { RedisBusOptions } from './redis-bus';
