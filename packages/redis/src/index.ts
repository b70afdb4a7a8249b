export { RedisStore } from './redis-store';
export type { RedisStoreOptions } from './redis-store';
export { failFastOptions, failFastClusterOptions } from './client-options';
