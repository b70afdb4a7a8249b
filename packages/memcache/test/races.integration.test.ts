import 'reflect-metadata';
import { MemcacheStore } from '@stockpyle/memcache';
import { Client } from 'memjs';
import { describeAllRaces } from '../../core/test/support/races/all-races';
import { realKit } from '../../core/test/support/races/real-kit';
import { raceRuns } from '../../core/test/support/races/runner';
import { serviceUrl } from '../../../test-support/test-environment';

// The driven interleavings of packages/core/test/races on a real memcached: every raw operation of
// every store waits for fast-check's scheduler, which waits for memcached's answer before it lets
// anything else happen. Each schedule writes under its own key prefix.
const client = Client.create(serviceUrl('memcached'), { retries: 0, logger: { log: () => undefined } });

afterAll(() => client.close());

describeAllRaces(
  realKit({ kind: 'memcached', create: (options) => new MemcacheStore({ ...options, client }) }),
  raceRuns('STOCKPYLE_RACE_SERVER_RUNS', 500),
);
