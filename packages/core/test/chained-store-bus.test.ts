import 'reflect-metadata';
import { AsyncLocalStore, ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle, type StoreEvent } from '@stockpyle/core';
import { CountingStore, MemoryBusHub, type MemoryBus } from '@stockpyle/core/testing';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id', 'email'], name: 'test.bus.User' })
class User {
  constructor(
    public id: number,
    public email: string,
    public version: number,
  ) {}
}

/** Two "processes": each its own memory tier and bus endpoint, one shared dictionary and one database. */
function twoProcesses(options: { maxStaleWhileDisconnected?: number; prefixes?: [string, string] } = {}) {
  const hub = new MemoryBusHub();
  const backend = new Map<string, unknown>();
  const db = new MemoryDatabase();
  const proc = (name: string, prefix: string | undefined) => {
    const memory = new ProcessMemoryStore({ prefix });
    const shared = CountingStore.wrap(new DictionaryStore(backend));
    const database = CountingStore.wrap(db);
    const bus = hub.bus({ name: `bus-${name}` });
    const publish = jest.spyOn(bus, 'publish');
    const subscribe = jest.spyOn(bus, 'subscribe');
    const chain = new ChainedStore([memory, shared, database], { name, bus, maxStaleWhileDisconnected: options.maxStaleWhileDisconnected });
    const events: StoreEvent[] = [];
    chain.on('bus', (e) => events.push(e));
    chain.on('error', (e) => events.push(e));
    return { memory, shared, database, bus, chain, events, publish, subscribe };
  };
  const a = proc('A', options.prefixes?.[0]);
  const b = proc('B', options.prefixes?.[1]);
  return {
    hub,
    db,
    a,
    b,
    async close() {
      await Promise.all([a.chain.release(), b.chain.release(), a.bus.release(), b.bus.release()]);
    },
  };
}

/** Lets microtask deliveries and `connected` states run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ChainedStore with a bus', () => {
  let clock: jest.SpyInstance<number, []>;
  let now: number;
  beforeEach(() => {
    now = 1_000_000;
    clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => clock.mockRestore());

  it('a write in one process drops the other process\'s first-tier copy; its next read costs one shared read, no database read', async () => {
    const w = twoProcesses();
    try {
      await settle();
      await w.a.chain.put(new User(1, 'u@x', 1));
      now += 1;
      expect((await w.b.chain.get(User, { id: 1 }))?.version).toBe(1);
      expect((await w.b.chain.get(User, { id: 1 }))?.version).toBe(1);
      now += 1;
      await w.a.chain.put(new User(1, 'u@x', 2));
      await settle();
      now += 1;
      w.b.shared.resetCounts();
      w.b.database.resetCounts();
      expect((await w.b.chain.get(User, { id: 1 }))?.version).toBe(2);
      expect(w.b.shared.calls('lookup', 'batchGet')).toBe(1);
      expect(w.b.database.calls('get', 'batchGet')).toBe(0);
      // ...and it filled its memory again: the read after is a first-tier hit.
      now += 1;
      expect((await w.b.chain.get(User, { email: 'u@x' }))?.version).toBe(2);
      expect(w.b.shared.calls('lookup', 'batchGet')).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('delete() and invalidate() are published too, after the shared tier changed', async () => {
    const w = twoProcesses();
    try {
      await settle();
      const user = new User(2, 'd@x', 1);
      await w.a.chain.put(user);
      now += 1;
      await w.b.chain.get(User, { id: 2 });
      await w.a.chain.delete(user);
      await settle();
      now += 1;
      expect(await w.b.chain.get(User, { id: 2 })).toBeUndefined();
      // A write made through the database alone, then invalidated (what StockpyleSubscriber does).
      const again = new User(3, 'i@x', 1);
      await w.a.chain.put(again);
      now += 1;
      await w.b.chain.get(User, { id: 3 });
      const changed = new User(3, 'i@x', 7);
      await w.db.batchPut([changed]);
      await w.a.chain.invalidate([changed]);
      await settle();
      now += 1;
      expect((await w.b.chain.get(User, { id: 3 }))?.version).toBe(7);
    } finally {
      await w.close();
    }
  });

  it('works between tiers of different prefixes: the keys on the bus carry no prefix', async () => {
    const w = twoProcesses({ prefixes: ['app-a', 'app-b'] });
    try {
      await settle();
      await w.a.chain.put(new User(4, 'p@x', 1));
      now += 1;
      await w.b.chain.get(User, { id: 4 });
      await w.a.chain.put(new User(4, 'p@x', 2));
      await settle();
      expect(w.a.publish.mock.calls.at(-1)?.[0]).toEqual(['test.bus.User:id=n4 test.bus.User:email=sp%40x']);
      now += 1;
      expect((await w.b.chain.get(User, { email: 'p@x' }))?.version).toBe(2);
    } finally {
      await w.close();
    }
  });

  it('a process ignores its own messages', async () => {
    const w = twoProcesses();
    try {
      await settle();
      await w.a.chain.put(new User(5, 'o@x', 1));
      await settle();
      w.a.shared.resetCounts();
      // A's memory still holds what it wrote: its own message did not drop it.
      expect((await w.a.chain.get(User, { id: 5 }))?.version).toBe(1);
      expect(w.a.shared.calls()).toBe(0);
      expect(w.hub.delivered).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('a delivery racing a fill: the fill of a read older than the message does not land', async () => {
    const w = twoProcesses();
    try {
      await settle();
      await w.a.chain.put(new User(6, 'r@x', 1));
      // B reads the shared tier's version 1 ...
      now += 1;
      const reading = w.b.chain.get(User, { id: 6 });
      // ... while A writes version 2 and B hears of it before its fill runs.
      const writing = w.a.chain.put(new User(6, 'r@x', 2));
      await Promise.all([reading, writing]);
      await settle();
      now += 1;
      w.b.shared.resetCounts();
      expect((await w.b.chain.get(User, { id: 6 }))?.version).toBe(2);
    } finally {
      await w.close();
    }
  });

  it('clears its in-process tiers on every connected (resync), and refuses fills of reads begun before', async () => {
    const w = twoProcesses();
    try {
      await settle();
      await w.a.chain.put(new User(7, 'c@x', 1));
      now += 1;
      await w.b.chain.get(User, { id: 7 });
      expect(w.b.memory.size).toBeGreaterThan(0);
      w.hub.disconnect(w.b.bus);
      now += 1;
      await w.a.chain.put(new User(7, 'c@x', 2)); // B misses this message
      now += 1;
      w.hub.reconnect(w.b.bus);
      expect(w.b.memory.size).toBe(0);
      expect(w.b.events.filter((e) => e.type === 'bus').map((e) => (e as { state: string }).state)).toEqual(['connected', 'disconnected', 'connected']);
      now += 1;
      expect((await w.b.chain.get(User, { id: 7 }))?.version).toBe(2);
    } finally {
      await w.close();
    }
  });

  it('serves only entries younger than maxStaleWhileDisconnected while the bus is down', async () => {
    const w = twoProcesses({ maxStaleWhileDisconnected: 500 });
    try {
      await settle();
      await w.a.chain.put(new User(8, 'm@x', 1));
      now += 1;
      await w.b.chain.get(User, { id: 8 });
      w.hub.disconnect(w.b.bus);
      w.b.shared.resetCounts();
      now += 100;
      expect((await w.b.chain.get(User, { id: 8 }))?.version).toBe(1);
      expect(w.b.shared.calls()).toBe(0);
      now += 500;
      await w.db.batchPut([new User(8, 'm@x', 2)]);
      await w.a.chain.invalidate([new User(8, 'm@x', 2)]); // published; B does not hear it
      now += 1;
      expect((await w.b.chain.get(User, { id: 8 }))?.version).toBe(2);
      expect(w.b.shared.calls('lookup', 'batchGet')).toBe(1);
      // The fill made while disconnected is young, so it serves again for a while.
      now += 1;
      expect((await w.b.chain.get(User, { id: 8 }))?.version).toBe(2);
      expect(w.b.shared.calls('lookup', 'batchGet')).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('maxStaleWhileDisconnected: 0 serves nothing from the first tier while the bus is down, nor before it first connects', async () => {
    const w = twoProcesses({ maxStaleWhileDisconnected: 0 });
    try {
      // Not yet connected: the subscription comes up after a microtask.
      void w.b.memory.put(new User(9, 'z@x', 1)); // synchronous underneath
      const early = w.b.chain.get(User, { id: 9 });
      expect(w.b.bus.connected).toBe(false);
      expect(await early).toBeUndefined();
      expect(w.b.shared.calls('lookup', 'batchGet')).toBe(1);
      await settle();
      await w.b.chain.put(new User(9, 'z@x', 1));
      w.hub.disconnect(w.b.bus);
      w.b.shared.resetCounts();
      expect((await w.b.chain.get(User, { id: 9 }))?.version).toBe(1);
      expect(w.b.shared.calls('lookup', 'batchGet')).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('reports bus errors as chain error events', async () => {
    const w = twoProcesses();
    try {
      await settle();
      w.hub.disconnect(w.a.bus as MemoryBus);
      await w.a.chain.put(new User(10, 'e@x', 1));
      const errors = w.a.events.filter((e) => e.type === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ type: 'error', store: 'bus-A', operation: 'bus.publish' });
    } finally {
      await w.close();
    }
  });

  it('the hit path does not call the bus', async () => {
    const w = twoProcesses();
    try {
      await settle();
      await w.b.chain.put(new User(11, 'h@x', 1));
      const publishes = w.b.publish.mock.calls.length;
      const subscribes = w.b.subscribe.mock.calls.length;
      const connected = jest.spyOn(w.b.bus, 'connected', 'get');
      for (let i = 0; i < 5; i++) expect((await w.b.chain.get(User, { id: 11 }))?.version).toBe(1);
      expect(w.b.publish.mock.calls.length).toBe(publishes);
      expect(w.b.subscribe.mock.calls.length).toBe(subscribes);
      expect(connected).not.toHaveBeenCalled();
    } finally {
      await w.close();
    }
  });

  it('release() unsubscribes; the next call subscribes again', async () => {
    const w = twoProcesses();
    try {
      await settle();
      await w.b.chain.release();
      expect(w.b.subscribe).toHaveBeenCalledTimes(1);
      await w.b.chain.get(User, { id: 12 });
      expect(w.b.subscribe).toHaveBeenCalledTimes(2);
    } finally {
      await w.close();
    }
  });

  it('a message over a write of this process in flight leaves a reservation: that write\'s commit then leaves a miss, not its value', async () => {
    const w = twoProcesses();
    try {
      await settle();
      await w.a.chain.put(new User(13, 'f@x', 1));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const put = w.db.batchPut.bind(w.db);
      const spy = jest.spyOn(w.db, 'batchPut').mockImplementationOnce(async (objs) => (await gate, put(objs)));
      const writing = w.b.chain.put(new User(13, 'f@x', 2)); // B's database call waits
      await settle();
      await w.a.chain.invalidate([new User(13, 'f@x', 1)]); // A's message reaches B meanwhile
      await settle();
      // A read of B now finds version 1 in the database; its fill must not land while B's write runs.
      now += 1;
      expect((await w.b.chain.get(User, { id: 13 }))?.version).toBe(1);
      expect(await w.b.memory.get(User, { id: 13 })).toBeUndefined();
      release();
      await writing;
      spy.mockRestore();
      expect(await w.b.memory.get(User, { id: 13 })).toBeUndefined();
      now += 1;
      expect((await w.b.chain.get(User, { id: 13 }))?.version).toBe(2);
    } finally {
      await w.close();
    }
  });

  it('AsyncLocalStore takes part: a message drops its entries in the context it arrives in', async () => {
    const hub = new MemoryBusHub();
    const db = new MemoryDatabase();
    const backend = new Map<string, unknown>();
    const local = new AsyncLocalStore();
    const busA = hub.bus();
    const busB = hub.bus();
    const a = new ChainedStore([new DictionaryStore(backend), db], { bus: busA });
    const b = new ChainedStore([local, new DictionaryStore(backend), db], { bus: busB });
    try {
      await settle();
      await AsyncLocalStore.run(async () => {
        await a.put(new User(14, 'l@x', 1));
        expect((await b.get(User, { id: 14 }))?.version).toBe(1);
        expect((await local.get(User, { id: 14 }))?.version).toBe(1);
        await a.put(new User(14, 'l@x', 2));
        (local as unknown as { settleKeys(keys: string[]): void }).settleKeys(['test.bus.User:id=n14']);
        expect(await local.get(User, { id: 14 })).toBeUndefined();
        now += 1;
        expect((await b.get(User, { id: 14 }))?.version).toBe(2);
      });
    } finally {
      await Promise.all([a.release(), b.release(), busA.release(), busB.release()]);
    }
  });

  it('rejects a bad maxStaleWhileDisconnected', () => {
    expect(() => new ChainedStore([new ProcessMemoryStore()], { maxStaleWhileDisconnected: -1 })).toThrow(/maxStaleWhileDisconnected/);
  });
});
