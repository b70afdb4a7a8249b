import { fakeKit } from '../support/races/fake-kit';
import { describeRaces, raceRuns } from '../support/races/runner';
import { backFill } from '../support/races/scenarios';

describeRaces(backFill, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set'] });
