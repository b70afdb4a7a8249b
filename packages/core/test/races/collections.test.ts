import { ChainedStore, DictionaryStore, ProcessMemoryStore } from '@stockpyle/core';
import { FakeClock, Gates } from '../support/races/gates';
import { describeRaces, raceRuns } from '../support/races/runner';
import { fakeKit } from '../support/races/fake-kit';
import { collections, listKey, memberAdds, MemberList, MembersDatabase } from './collections-scenario';

describeRaces(collections, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set'] });
describeRaces(memberAdds, fakeKit, { runs: raceRuns('STOCKPYLE_RACE_RUNS', 10_000), naive: ['set'] });

// What an application sees of a cached member list, one call at a time (no scheduler: every
// statement runs at once): reads served from the caches, and what a write's invalidation costs.
describe('a member list cached through a ChainedStore', () => {
  let db: MembersDatabase;
  let chain: ChainedStore;
  const members = async (owner: number): Promise<number[] | undefined> => (await chain.get(MemberList, { key: listKey(owner) }))?.members;

  beforeEach(() => {
    db = new MembersDatabase(new Gates(new FakeClock()));
    db.seed([
      [10, 1],
      [11, 1],
      [20, 2],
    ]);
    chain = new ChainedStore([new ProcessMemoryStore(), new DictionaryStore(new Map()), db]);
  });

  afterEach(() => chain.release());

  /** A write of the database followed by the invalidation the subscriber does after the commit. */
  async function committed(w: Parameters<MembersDatabase['write']>[0]): Promise<void> {
    const changed = await db.write(w);
    await chain.invalidate(changed.map((o) => new MemberList(listKey(o), [])));
  }

  it('is read from the database once, then served from the caches', async () => {
    expect(await members(1)).toEqual([10, 11]);
    expect(db.selects).toBe(1);
    expect(await members(1)).toEqual([10, 11]);
    expect(await members(1)).toEqual([10, 11]);
    expect(db.selects).toBe(1);
  });

  it('after a member is added and the list invalidated, costs one database read, then is cached again', async () => {
    await members(1);
    await committed({ kind: 'add', member: 12, owner: 1 });
    expect(await members(1)).toEqual([10, 11, 12]);
    expect(db.selects).toBe(2);
    expect(await members(1)).toEqual([10, 11, 12]);
    expect(db.selects).toBe(2);
  });

  it('after a member moves, both owners’ lists are read again, in one batch', async () => {
    await chain.batchGet(MemberList, [{ key: listKey(1) }, { key: listKey(2) }]);
    expect(db.selects).toBe(2);
    await committed({ kind: 'move', member: 10, owner: 2 });
    const lists = await chain.batchGet(MemberList, [{ key: listKey(1) }, { key: listKey(2) }]);
    expect(lists.map((l) => l?.members)).toEqual([[11], [10, 20]]);
    expect([db.selects, db.roundTrips]).toEqual([4, 2]);
    expect(await members(2)).toEqual([10, 20]);
    expect(db.selects).toBe(4);
  });

  it('after a member is deleted, its owner’s list no longer has it', async () => {
    await members(2);
    await committed({ kind: 'remove', member: 20 });
    expect(await members(2)).toEqual([]);
    expect(db.selects).toBe(2);
  });
});
