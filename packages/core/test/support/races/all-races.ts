import { clearScenario } from './clear-scenario';
import { writeFailure } from './failure-scenario';
import { modelRuns } from './model-scenario';
import { newRows } from './new-rows-scenario';
import { describeRaces } from './runner';
import { backFill, busScenario, keyChange, outlivedTombstone, reverseWriters, staleSet } from './scenarios';
import type { TierKit } from './world';

/** Every race scenario, in the order, over one kit (the real-server suites run them all). */
export function describeAllRaces(kit: TierKit, runs: number): void {
  describeRaces(staleSet, kit, { runs, naive: ['set', 'fill-reservation', 'fill-any-tomb'] });
  describeRaces(reverseWriters, kit, { runs, naive: ['set'] });
  describeRaces(outlivedTombstone, kit, { runs, naive: ['set'] });
  describeRaces(backFill, kit, { runs, naive: ['set'] });
  describeRaces(keyChange, kit, { runs, naive: ['set'] });
  describeRaces(writeFailure, kit, { runs, naive: ['set'] });
  describeRaces(modelRuns, kit, { runs, naive: ['set'] });
  describeRaces(newRows, kit, { runs, naive: ['set', 'keep-misses'] });
  // The bus itself stays the scheduler-driven MemoryBusHub (delays, reorders, losses and
  // duplicates on the scheduler's word); the shared tier is the real server.
  describeRaces(busScenario, kit, { runs, naive: ['no-resync'] });
  describeRaces(clearScenario, kit, { runs, naive: ['clear-fill-gen', 'clear-top-first'] });
}
