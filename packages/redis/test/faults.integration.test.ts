import { RedisStore } from '@stockpyle/redis';
import { describeFaultSuite } from '../../../test-support/fault-suite';
import { startRedis } from '../../../test-support/services';

describeFaultSuite({
  label: 'Redis',
  start: () => startRedis(),
  viaProxy: (address) => `redis://${address}`,
  open: (url, options) => new RedisStore({ url, ...options }),
  tombstoneGoneAfterMs: 2000, // a 1 s tombstone
});
