import { fakeKit } from '../support/races/fake-kit';
import { describeRaces, raceRuns } from '../support/races/runner';
import { busScenario } from '../support/races/scenarios';

describeRaces(busScenario, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['no-resync', 'bus-delete'] });
