import { describe, expect, it } from '@jest/globals';
import { eventually } from '../../../test-support/eventually';
import { BusOutbox, BusPublishError, TimeoutError, busRetryDelay, decodeBusMessage, type BusOutboxOptions } from '@stockpyle/core';

/** An outbox over a fake transport that records what it was asked to send. */
function outbox(overrides: Partial<BusOutboxOptions> = {}): { box: BusOutbox; sent: string[][]; dropped: { error: unknown; keys: readonly string[] }[] } {
  const sent: string[][] = [];
  const dropped: { error: unknown; keys: readonly string[] }[] = [];
  const box = new BusOutbox({
    origin: 'me',
    name: 'TestBus',
    send: async (text) => void sent.push([...decodeBusMessage(text).keys]),
    onDropped: (error, keys) => void dropped.push({ error, keys }),
    maxMessageBytes: 1024,
    timeout: 200,
    retries: 2,
    retryDelay: () => 1,
    maxWaiting: 100,
    ...overrides,
  });
  return { box, sent, dropped };
}

/** Lets the outbox's setImmediate flush run. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BusOutbox', () => {
  describe('add()', () => {
    it('sends every key added in one turn of the event loop as one message, without duplicates', async () => {
      const { box, sent } = outbox();
      box.add(['a', 'b']);
      box.add(['b', 'c']);
      await Promise.resolve();
      box.add(['d']);
      expect(sent).toEqual([]);
      await nextTurn();
      expect(sent).toEqual([['a', 'b', 'c', 'd']]);
      box.add(['e']);
      await box.close();
      expect(sent).toEqual([['a', 'b', 'c', 'd'], ['e']]);
    });

    it('splits a batch larger than maxMessageBytes', async () => {
      const { box, sent } = outbox({ maxMessageBytes: 100 });
      const keys = Array.from({ length: 40 }, (_v, i) => `key-${i}`);
      box.add(keys);
      await box.close();
      expect(sent.length).toBeGreaterThan(1);
      expect(sent.flat()).toEqual(keys);
    });

    it('reports a key too large for any message and sends the rest', async () => {
      const { box, sent, dropped } = outbox({ maxMessageBytes: 100 });
      box.add(['ok', 'x'.repeat(200)]);
      await box.close();
      expect(sent).toEqual([['ok']]);
      expect(dropped.map((d) => [d.keys, d.error instanceof BusPublishError])).toEqual([[['x'.repeat(200)], true]]);
    });

    it('retries a failed send, then reports its keys after the last attempt', async () => {
      let calls = 0;
      const { box, dropped } = outbox({
        send: async () => {
          calls += 1;
          throw new Error('refused');
        },
      });
      box.add(['k']);
      await nextTurn();
      await eventually(async () => expect(dropped).toHaveLength(1), 5_000, 5);
      expect(calls).toBe(3);
      expect(dropped).toHaveLength(1);
      expect(dropped[0]!.keys).toEqual(['k']);
      expect((dropped[0]!.error as Error).message).toMatch(/could not publish 1 key\(s\) in 3 attempts: refused/);
      await box.close();
    });

    it('sends a message whose first attempt failed on a later one', async () => {
      let calls = 0;
      const sent: string[] = [];
      const { box, dropped } = outbox({
        send: async (text) => {
          calls += 1;
          if (calls === 1) throw new Error('once');
          sent.push(text);
        },
      });
      box.add(['k']);
      await nextTurn();
      await box.close();
      expect(calls).toBe(2);
      expect(sent.map((t) => decodeBusMessage(t).keys)).toEqual([['k']]);
      expect(dropped).toEqual([]);
    });

    it('bounds a send that never settles by the timeout', async () => {
      const { box, dropped } = outbox({ send: () => new Promise<void>(() => undefined), timeout: 20, retries: 0 });
      box.add(['k']);
      await box.close();
      expect(dropped).toHaveLength(1);
      expect((dropped[0]!.error as BusPublishError).cause).toBeInstanceOf(TimeoutError);
    });

    it('drops the oldest message waiting for a retry past maxWaiting', async () => {
      const { box, dropped } = outbox({ send: async () => Promise.reject(new Error('down')), maxMessageBytes: 28, maxWaiting: 2, retryDelay: () => 60_000 });
      box.add(['k1', 'k2', 'k3']);
      await nextTurn();
      await new Promise((resolve) => setImmediate(resolve));
      expect(dropped.map((d) => d.keys)).toEqual([['k1']]);
      await box.close();
      expect(dropped.map((d) => d.keys).sort()).toEqual([['k1'], ['k2'], ['k3']]);
    });
  });

  describe('close()', () => {
    it('reports a send that was in flight when it began and then failed, leaving no retry behind', async () => {
      let fail: (error: Error) => void = () => undefined;
      let calls = 0;
      const { box, dropped } = outbox({
        send: () => {
          calls += 1;
          return new Promise<void>((_resolve, reject) => (fail = reject));
        },
        retryDelay: () => 0,
      });
      box.add(['k']);
      await nextTurn();
      const closed = box.close();
      fail(new Error('late'));
      await closed;
      await nextTurn();
      expect(calls).toBe(1);
      expect(dropped.map((d) => d.keys)).toEqual([['k']]);
    });

    it('gives waiting messages one last attempt instead of waiting out their retry delay', async () => {
      let calls = 0;
      const { box, dropped } = outbox({
        send: async () => {
          calls += 1;
          if (calls === 1) throw new Error('once');
        },
        retryDelay: () => 60_000,
      });
      box.add(['k']);
      await nextTurn();
      await Promise.resolve();
      await box.close();
      expect(calls).toBe(2);
      expect(dropped).toEqual([]);
    });
  });
});

describe('busRetryDelay()', () => {
  it('grows 100, 300, 900 ms and stays bounded', () => {
    expect([1, 2, 3].map(busRetryDelay)).toEqual([100, 300, 900]);
    expect(busRetryDelay(100)).toBe(busRetryDelay(7));
  });
});
