import 'reflect-metadata';
import { MemcacheStore } from '@stockpyle/memcache';
import { Client } from 'memjs';
import { collections, memberAdds } from '../../core/test/races/collections-scenario';
import { realKit } from '../../core/test/support/races/real-kit';
import { describeRaces, raceRuns } from '../../core/test/support/races/runner';
import { serviceUrl } from '../../../test-support/test-environment';

// The collection entries' driven interleavings of packages/core/test/races/collections.test.ts on a
// real memcached, as races.integration.test.ts runs the others: every raw operation waits for
// fast-check's scheduler, which waits for memcached's answer. Each schedule has its own key prefix.
const client = Client.create(serviceUrl('memcached'), { retries: 0, logger: { log: () => undefined } });

afterAll(() => client.close());

const kit = realKit({ kind: 'memcached', create: (options) => new MemcacheStore({ ...options, client }) });
const runs = raceRuns('STOCKPYLE_RACE_SERVER_RUNS', 500);
describeRaces(collections, kit, { runs, naive: ['set'] });
describeRaces(memberAdds, kit, { runs, naive: ['set'] });
