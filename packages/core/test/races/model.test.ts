import { fakeKit } from '../support/races/fake-kit';
import { modelRuns } from '../support/races/model-scenario';
import { describeRaces, raceRuns } from '../support/races/runner';

describeRaces(modelRuns, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set'] });
