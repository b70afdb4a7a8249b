import { fakeKit } from '../support/races/fake-kit';
import { newRows } from '../support/races/new-rows-scenario';
import { describeRaces, raceRuns } from '../support/races/runner';

describeRaces(newRows, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set', 'keep-misses'] });
