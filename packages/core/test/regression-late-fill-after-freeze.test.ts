import 'reflect-metadata';
import { ChainedStore, DictionaryStore, KeyBuilder, Stockpyle, getMetadata, type RawWrite } from '@stockpyle/core';
import { MemoryDatabase } from './support/memory-database';

// Found by the memcached fault suite: a fill sent to a frozen server (SIGSTOP) timed out, but the
// server applied it when it resumed — after the tombstone of a deletion made before the freeze had
// expired — and the deleted object was served again, by this chain and by every other process.

@Stockpyle({ keys: ['id'], name: 'regression.LateFillDoc' })
class Doc {
  constructor(public id: number, public version: number) {}
}

/** A dictionary tier whose fills, once `frozen`, are applied only when `thaw()` is called, as a stopped server would. */
class FreezableStore extends DictionaryStore {
  frozen = false;
  #thawed: Promise<void> = Promise.resolve();
  #thaw = (): void => undefined;

  freeze(): void {
    this.frozen = true;
    this.#thawed = new Promise((resolve) => (this.#thaw = resolve));
  }

  thaw(): void {
    this.frozen = false;
    this.#thaw();
  }

  protected override async fillRaw(writes: readonly RawWrite<string>[], readStartedAt: number, generation: number | undefined): Promise<void> {
    if (this.frozen) await this.#thawed;
    return super.fillRaw(writes, readStartedAt, generation);
  }
}

describe('ChainedStore when a fill times out but is applied later', () => {
  it('invalidates what it tried to fill, so the late fill cannot bring back a deleted object', async () => {
    const map = new Map<string, unknown>();
    const tier = new FreezableStore(map as Map<string, string>);
    const db = new MemoryDatabase();
    const doc = new Doc(1, 1);
    await db.put(doc);
    const chain = new ChainedStore([tier, db], { tierTimeout: 20 });
    chain.on('error', () => undefined);

    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const read = db.batchGet.bind(db);
    db.batchGet = async (cls, queries) => {
      db.batchGet = read;
      const rows = await read(cls, queries);
      await held;
      return rows;
    };
    const reading = chain.get(Doc, { id: 1 }); // misses the tier, reads version 1, waits
    await new Promise((resolve) => setTimeout(resolve, 5));
    await chain.delete(doc);
    const key = new KeyBuilder().build(getMetadata(Doc), getMetadata(Doc).keys[0]!, doc)!;
    map.delete(key); // the deletion's tombstone expires while the server is frozen
    tier.freeze();
    release();
    expect((await reading)?.version).toBe(1); // it began before the delete: fine
    tier.thaw(); // the server resumes and applies the fill it had buffered
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await tier.get(Doc, { id: 1 })).toBeUndefined();
    expect(await chain.get(Doc, { id: 1 })).toBeUndefined();
  });
});
