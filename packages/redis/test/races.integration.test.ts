import 'reflect-metadata';
import { RedisStore } from '@stockpyle/redis';
import { Redis } from 'ioredis';
import { describeAllRaces } from '../../core/test/support/races/all-races';
import { realKit } from '../../core/test/support/races/real-kit';
import { raceRuns } from '../../core/test/support/races/runner';
import { serviceUrl } from '../../../test-support/test-environment';

// The driven interleavings of packages/core/test/races on a real Redis: every raw operation of
// every store waits for fast-check's scheduler, which waits for Redis's answer before it lets
// anything else happen. Each schedule writes under its own key prefix.
const client = new Redis(serviceUrl('redis'), { maxRetriesPerRequest: 1 });

afterAll(async () => {
  await client.quit();
});

describeAllRaces(
  realKit({ kind: 'redis', create: (options) => new RedisStore({ ...options, client }) }),
  raceRuns('STOCKPYLE_RACE_SERVER_RUNS', 500),
);
