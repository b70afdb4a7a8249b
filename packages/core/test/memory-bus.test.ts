import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { BusErrorEvent, BusListener, BusState } from '@stockpyle/core';
import { MemoryBusHub, type MemoryBus } from '@stockpyle/core/testing';

/** A listener that records what it hears. */
function recorder(): BusListener & { heard: string[][]; states: BusState[] } {
  const heard: string[][] = [];
  const states: BusState[] = [];
  return { heard, states, keys: (keys) => void heard.push([...keys]), state: (state) => void states.push(state) };
}

/** Lets queued microtasks (the hub's default deliveries) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('MemoryBusHub', () => {
  describe('bus()', () => {
    it('gives endpoints with distinct ids that deliver to each other and not to themselves', async () => {
      const hub = new MemoryBusHub();
      const [a, b, c] = [hub.bus(), hub.bus(), hub.bus()];
      const [ra, rb, rc] = [recorder(), recorder(), recorder()];
      a.subscribe(ra);
      b.subscribe(rb);
      c.subscribe(rc);
      a.publish(['k1', 'k2']);
      await settle();
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
      expect(ra.heard).toEqual([]);
      expect(rb.heard).toEqual([['k1', 'k2']]);
      expect(rc.heard).toEqual([['k1', 'k2']]);
      await Promise.all([a.release(), b.release(), c.release()]);
    });

    it('reports connected to a subscriber after subscribe() returns', async () => {
      const hub = new MemoryBusHub();
      const a = hub.bus();
      const r = recorder();
      a.subscribe(r);
      expect(r.states).toEqual([]);
      expect(a.connected).toBe(false);
      await settle();
      expect(r.states).toEqual(['connected']);
      expect(a.connected).toBe(true);
      await a.release();
    });
  });

  describe('pending', () => {
    it('holds manual deliveries until the test delivers, reorders, duplicates or drops them', async () => {
      const hub = new MemoryBusHub({ deliveries: 'manual' });
      const [a, b] = [hub.bus(), hub.bus()];
      const r = recorder();
      b.subscribe(r);
      a.publish(['first']);
      a.publish(['second']);
      a.publish(['third']);
      expect(hub.pending.map((d) => d.keys)).toEqual([['first'], ['second'], ['third']]);
      const [first, second, third] = hub.pending;
      expect(second!.deliver()).toBe(true);
      expect(second!.deliver()).toBe(false);
      first!.duplicate();
      third!.drop();
      expect(first!.deliver()).toBe(true);
      expect(hub.deliverAll()).toBe(1);
      expect(r.heard).toEqual([['second'], ['first'], ['first']]);
      expect(hub.pending).toEqual([]);
      expect([hub.published, hub.delivered]).toEqual([3, 3]);
      await Promise.all([a.release(), b.release()]);
    });

    it('lets a fast-check scheduler choose the order of deliveries', async () => {
      const orders = new Set<string>();
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), async (s) => {
          const hub = new MemoryBusHub({ deliveries: (d) => void s.schedule(Promise.resolve(), d.keys.join()).then(() => d.deliver()) });
          const [a, b] = [hub.bus(), hub.bus()];
          const r = recorder();
          b.subscribe(r);
          a.publish(['x']);
          a.publish(['y']);
          await s.waitAll();
          expect(r.heard.flat().sort()).toEqual(['x', 'y']);
          orders.add(r.heard.flat().join());
          await Promise.all([a.release(), b.release()]);
        }),
        { numRuns: 20, seed: 12 },
      );
      expect([...orders].sort()).toEqual(['x,y', 'y,x']);
    });
  });

  describe('disconnect()', () => {
    it('tells subscribers disconnected, loses messages to the endpoint and fails its publishes', async () => {
      const hub = new MemoryBusHub({ deliveries: 'manual' });
      const [a, b] = [hub.bus(), hub.bus()];
      const r = recorder();
      const errors: BusErrorEvent[] = [];
      b.subscribe(r);
      b.on('error', (event) => void errors.push(event));
      await settle();
      a.publish(['in flight']);
      hub.disconnect(b);
      a.publish(['while away']);
      b.publish(['from b']);
      expect(hub.pending).toEqual([]);
      expect(r.states).toEqual(['connected', 'disconnected']);
      expect(b.connected).toBe(false);
      expect(errors.map((e) => [e.operation, e.keys])).toEqual([['publish', ['from b']]]);
      hub.reconnect(b);
      a.publish(['after']);
      hub.deliverAll();
      expect(r.states).toEqual(['connected', 'disconnected', 'connected']);
      expect(r.heard).toEqual([['after']]);
      await Promise.all([a.release(), b.release()]);
    });
  });
});

describe('MemoryBus', () => {
  describe('subscribe()', () => {
    it('returns a function that stops that listener only', async () => {
      const hub = new MemoryBusHub();
      const [a, b] = [hub.bus(), hub.bus()];
      const [r1, r2] = [recorder(), recorder()];
      const stop = b.subscribe(r1);
      b.subscribe(r2);
      stop();
      a.publish(['k']);
      await settle();
      expect(r1.heard).toEqual([]);
      expect(r2.heard).toEqual([['k']]);
      await Promise.all([a.release(), b.release()]);
    });

    it('reports a listener that throws and goes on delivering to the others', async () => {
      const hub = new MemoryBusHub();
      const [a, b] = [hub.bus(), hub.bus()];
      const r = recorder();
      const errors: BusErrorEvent[] = [];
      b.on('error', (event) => void errors.push(event));
      b.subscribe({ keys: () => { throw new Error('boom'); }, state: () => undefined });
      b.subscribe(r);
      a.publish(['k']);
      await settle();
      expect(r.heard).toEqual([['k']]);
      expect(errors.map((e) => [e.operation, (e.error as Error).message])).toEqual([['listener', 'boom']]);
      await Promise.all([a.release(), b.release()]);
    });
  });

  describe('release()', () => {
    it('tells subscribers disconnected, drops them, and hears nothing until subscribed again', async () => {
      const hub = new MemoryBusHub();
      const [a, b] = [hub.bus(), hub.bus()];
      const [before, after] = [recorder(), recorder()];
      b.subscribe(before);
      await settle();
      await b.release();
      a.publish(['lost']);
      await settle();
      b.subscribe(after);
      await settle();
      a.publish(['heard']);
      await settle();
      expect(before.states).toEqual(['connected', 'disconnected']);
      expect(before.heard).toEqual([]);
      expect(after.heard).toEqual([['heard']]);
      await Promise.all([a.release(), b.release()]);
    });
  });

  describe('off()', () => {
    it('removes an error listener', async () => {
      const hub = new MemoryBusHub();
      const a: MemoryBus = hub.bus();
      const errors: BusErrorEvent[] = [];
      const listener = (event: BusErrorEvent): void => void errors.push(event);
      a.on('error', listener);
      a.off('error', listener);
      hub.disconnect(a);
      a.publish(['k']);
      expect(errors).toEqual([]);
      await a.release();
    });
  });
});
