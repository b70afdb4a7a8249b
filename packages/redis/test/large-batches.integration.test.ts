import 'reflect-metadata';
import { afterAll, describe } from '@jest/globals';
import { RedisStore } from '@stockpyle/redis';
import { describeLargeBatches } from '../../../test-support/large-batch-suite';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';

// Batches of 100,000 objects with the store's default deadline (500 ms per round trip), on the
// shared standalone server and Cluster, while another client reads in a worker thread.

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
    open: () => new RedisStore({ url: REDIS_URL }),
    reader: () => ({ kind: 'redis', url: REDIS_URL }),
    nextId,
    figures,
  });
  describeLargeBatches({
    label: 'Redis Cluster',
    open: () => new RedisStore({ url: CLUSTER_SEEDS }),
    reader: () => ({ kind: 'redis-cluster', seeds: CLUSTER_SEEDS }),
    nextId,
    figures,
  });
});
