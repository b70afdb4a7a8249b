import 'reflect-metadata';
import { RedisStore } from '@stockpyle/redis';
import { Redis } from 'ioredis';
import { collections, memberAdds } from '../../core/test/races/collections-scenario';
import { realKit } from '../../core/test/support/races/real-kit';
import { describeRaces, raceRuns } from '../../core/test/support/races/runner';
import { serviceUrl } from '../../../test-support/test-environment';

// The collection entries' driven interleavings of packages/core/test/races/collections.test.ts on a
// real Redis, as races.integration.test.ts runs the others: every raw operation waits for
// fast-check's scheduler, which waits for Redis's answer. Each schedule has its own key prefix.
const client = new Redis(serviceUrl('redis'), { maxRetriesPerRequest: 1 });

afterAll(async () => {
  await client.quit();
});

const kit = realKit({ kind: 'redis', create: (options) => new RedisStore({ ...options, client }) });
const runs = raceRuns('STOCKPYLE_RACE_SERVER_RUNS', 500);
describeRaces(collections, kit, { runs, naive: ['set'] });
describeRaces(memberAdds, kit, { runs, naive: ['set'] });
