import 'reflect-metadata';
import { afterAll, beforeAll, describe } from '@jest/globals';
import { MemcacheStore } from '@stockpyle/memcache';
import { describeLargeBatches } from '../../../test-support/large-batch-suite';
import { startMemcached, type ServiceHandle } from '../../../test-support/services';
import { nextId } from './support/fixtures';

// Batches of 100,000 objects with the store's default deadline (500 ms per round trip), while
// another client reads in a worker thread. A private memcached with room for them: the shared
// one has memcached's default 64 MB, which 200,000 entries of this size would overflow.

let server: ServiceHandle;
const figures: string[] = [];

beforeAll(async () => {
  server = await startMemcached({ extraArgs: ['-m', '512'] });
});

afterAll(async () => {
  console.log(`memcached large batches: ${figures.join('; ')}`);
  await server?.stop();
});

describe('MemcacheStore', () => {
  describeLargeBatches({
    label: 'memcached',
    open: () => new MemcacheStore({ servers: [server.url] }),
    reader: () => ({ kind: 'memcached', servers: server.url }),
    nextId,
    figures,
  });
});
