import { MemcacheStore } from '@stockpyle/memcache';
import { describeFaultSuite } from '../../../test-support/fault-suite';
import { startMemcached } from '../../../test-support/services';

describeFaultSuite({
  label: 'memcached',
  start: () => startMemcached(),
  viaProxy: (address) => address,
  open: (url, options) => new MemcacheStore({ servers: [url], ...options }),
  tombstoneGoneAfterMs: 3000, // a 1 s tombstone, rounded up to 2 s for memcached's coarse clock
});
