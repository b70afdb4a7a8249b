import { fakeKit } from '../support/races/fake-kit';
import { describeRaces, raceRuns } from '../support/races/runner';
import { staleSet } from '../support/races/scenarios';

describeRaces(staleSet, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set', 'fill-reservation', 'fill-any-tomb'] });
