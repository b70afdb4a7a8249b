import { fakeKit } from '../support/races/fake-kit';
import { MAX_K, faultsFired, writeFailure } from '../support/races/failure-scenario';
import { describeRaces, raceRuns } from '../support/races/runner';

const runs = raceRuns('STOCKPYLE_RACE_RUNS', 10_000);

describeRaces(writeFailure, fakeKit, { runs, naive: ['set'] });

describe(`write failure [raw fakes]`, () => {
  // After the scenario's own tests: in 10,000 schedules each k is drawn about 1,100 times.
  (runs >= 2_000 ? it : it.skip)(`failed the k-th raw operation of a write for every k from 1 to ${MAX_K}`, () => {
    expect(faultsFired().map((n, i) => (n > 0 ? 0 : i + 1)).filter((k) => k > 0)).toEqual([]);
  });
});
