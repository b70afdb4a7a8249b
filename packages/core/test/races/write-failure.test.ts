import { fakeKit } from '../support/races/fake-kit';
import { writeFailure } from '../support/races/failure-scenario';
import { describeRaces, raceRuns } from '../support/races/runner';

describeRaces(writeFailure, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set'] });
