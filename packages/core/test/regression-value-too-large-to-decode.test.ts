import 'reflect-metadata';
import { ChainedStore, DEFAULT_MAX_PAYLOAD_BYTES, DictionaryStore, Stockpyle, type StoreEvent } from '@stockpyle/core';
import { MemoryDatabase } from './support/memory-database';

// Found by the Redis hostile-input suite: an object whose envelope is larger than decoding accepts
// (16 MiB) was written to Redis anyway, then read back as corrupt, removed, and filled again on the
// next read: 17 MB written and thrown away per read, and a 'corrupt' event each time.

@Stockpyle({ keys: ['id'], name: 'regression.HugeDoc' })
class Doc {
  constructor(public id: number, public body: string) {}
}

describe('an encoding tier given an object larger than decoding accepts', () => {
  it('skips it (a skip event) instead of writing what it would read back as corrupt; the chain serves it from below', async () => {
    const map = new Map<string, string>();
    const tier = new DictionaryStore(map);
    const events: StoreEvent[] = [];
    tier.on('skip', (e) => events.push(e)).on('corrupt', (e) => events.push(e));
    const db = new MemoryDatabase();
    const chain = new ChainedStore([tier, db]);
    const big = new Doc(1, 'x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES));
    await chain.put(big);
    expect(events).toEqual([expect.objectContaining({ type: 'skip', reason: expect.stringMatching(/exceeds/) })]);
    expect((await chain.get(Doc, { id: 1 }))?.body).toHaveLength(DEFAULT_MAX_PAYLOAD_BYTES);
    expect((await chain.get(Doc, { id: 1 }))?.body).toHaveLength(DEFAULT_MAX_PAYLOAD_BYTES);
    expect(events.filter((e) => e.type === 'corrupt')).toEqual([]);
    expect([...map.values()].every((raw) => raw.length < 1024)).toBe(true); // at most a tombstone
  });
});
