import { clearScenario } from '../support/races/clear-scenario';
import { fakeKit } from '../support/races/fake-kit';
import { describeRaces, raceRuns } from '../support/races/runner';

describeRaces(clearScenario, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['clear-fill-gen', 'clear-top-first'] });
