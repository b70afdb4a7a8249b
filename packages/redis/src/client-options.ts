import type { ClusterOptions, RedisOptions } from 'ioredis';

/** Default deadline of one store operation, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 500;
/** Longest pause between two reconnection attempts while Redis is down, in milliseconds. */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * Delay before reconnection attempt `times` (1, 2, …): 100 ms doubling up to 2 s, and never
 * `null`, so a client keeps trying in the background for as long as Redis is away.
 */
export function reconnectDelay(times: number): number {
  return Math.min(100 * 2 ** Math.min(Math.max(times, 1) - 1, 10), MAX_RECONNECT_DELAY_MS);
}

/**
 * ioredis options that make a dead or frozen Redis fail a command at once or within `timeout` ms
 * instead of queueing it for many seconds (ioredis's defaults), while reconnecting by itself.
 * The store creates its own clients with these; pass them when you create the client yourself:
 * `new Redis(url, { ...failFastOptions(), password })`.
 */
export function failFastOptions(timeout = DEFAULT_TIMEOUT_MS): RedisOptions {
  return {
    ...failFastNodeOptions(timeout),
    // no offline queue: while disconnected a command fails at once, a cache miss, not a wait
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
  };
}

/**
 * The Cluster counterpart of `failFastOptions`: no offline queue, a capped reconnection backoff
 * that never gives up, slot-table refreshes bounded by `timeout`, and fail-fast options per node.
 */
export function failFastClusterOptions(timeout = DEFAULT_TIMEOUT_MS): ClusterOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: Math.max(timeout, 1_000),
    redisOptions: failFastNodeOptions(timeout),
  };
}

/** What standalone clients and every cluster node share. */
function failFastNodeOptions(timeout: number): RedisOptions {
  return {
    // connect on first use, so constructing a store does no I/O and release() can reopen
    lazyConnect: true,
    // a command Redis does not answer (a frozen server) fails after `timeout`
    commandTimeout: timeout,
    connectTimeout: Math.max(timeout, 1_000),
    // how long disconnect() waits for a socket to close before destroying it; ioredis leaves this
    // timer running (2 s by default) even when the socket was already gone, holding the process open
    disconnectTimeout: timeout,
    // commands in flight when the connection drops fail now; resending a stale SET later could
    // overwrite a newer value
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  };
}
