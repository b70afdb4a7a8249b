import 'reflect-metadata';
import { afterAll, describe } from '@jest/globals';
import { RedisStore } from '@stockpyle/redis';
import { describeLargeBatches } from '../../../test-support/large-batch-suite';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';

// Batches of 100,000 objects on the shared standalone server and Cluster, while another client
// reads in a worker thread. The per-round-trip deadline is 2 s here, not the default 500 ms: on the
// 2-core CI machine, with other suites running beside this one, ioredis's command timers (started
// when a command is queued) were seen to fire during event-loop stalls of a healthy batch.
const TIMEOUT_MS = 2_000;

const REDIS_URL = serviceUrl('redis');
const CLUSTER_SEEDS = clusterNodes().map(({ host, port }) => `${host}:${port}`);
const figures: string[] = [];
let seq = Math.floor(Math.random() * 1e9);
const nextId = (): number => ++seq;

afterAll(() => {
  console.log(`redis large batches: ${figures.join('; ')}`);
});

describe('RedisStore', () => {
  describeLargeBatches({
    label: 'Redis standalone',
    open: () => new RedisStore({ url: REDIS_URL, timeout: TIMEOUT_MS }),
    reader: () => ({ kind: 'redis', url: REDIS_URL }),
    nextId,
    figures,
  });
  describeLargeBatches({
    label: 'Redis Cluster',
    open: () => new RedisStore({ url: CLUSTER_SEEDS, timeout: TIMEOUT_MS }),
    reader: () => ({ kind: 'redis-cluster', seeds: CLUSTER_SEEDS }),
    nextId,
    figures,
  });
});
