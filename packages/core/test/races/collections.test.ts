import { fakeKit } from '../support/races/fake-kit';
import { describeRaces, raceRuns } from '../support/races/runner';
import { collections, memberAdds } from './collections-scenario';

describeRaces(collections, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set'] });
describeRaces(memberAdds, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set'] });
