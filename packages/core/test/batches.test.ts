import { describe, expect, it } from '@jest/globals';
import { DEADLINE_SLICE, batchDeadline, chunkIndexes, inSlices, runBounded } from '@stockpyle/core';

describe('chunkIndexes()', () => {
  it('keeps a batch within the limits as one chunk', () => {
    expect(chunkIndexes(3, { maxItems: 10 })).toEqual([[0, 1, 2]]);
  });

  it('closes a chunk at maxItems, at maxBytes, and counts an item as many as items() says', () => {
    expect(chunkIndexes(5, { maxItems: 2 })).toEqual([[0, 1], [2, 3], [4]]);
    expect(chunkIndexes(4, { maxItems: 10, maxBytes: 10 }, () => 4)).toEqual([[0, 1], [2, 3]]);
    expect(chunkIndexes(3, { maxItems: 4 }, undefined, (i) => (i === 1 ? 3 : 1))).toEqual([[0, 1], [2]]);
  });

  it('gives an item over a limit a chunk of its own', () => {
    expect(chunkIndexes(3, { maxItems: 10, maxBytes: 5 }, (i) => (i === 1 ? 50 : 1))).toEqual([[0], [1], [2]]);
  });
});

describe('runBounded()', () => {
  it('never has more than `concurrency` in flight and runs every index once', async () => {
    let inFlight = 0;
    let most = 0;
    const ran: number[] = [];
    await runBounded(20, 3, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      ran.push(i);
      inFlight--;
    });
    expect(most).toBe(3);
    expect(ran.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_v, i) => i));
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    await expect(
      runBounded(10, 2, async (i) => {
        started.push(i);
        await new Promise((resolve) => setImmediate(resolve));
        if (i === 1) throw new Error('chunk 1 failed');
      }),
    ).rejects.toThrow('chunk 1 failed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
  });
});

describe('inSlices()', () => {
  it('calls once with the items when they fit, else slice by slice in order, joining the results', async () => {
    const seen: number[][] = [];
    const out = await inSlices([1, 2, 3, 4, 5], 2, async (slice) => (seen.push([...slice]), slice.map((x) => x * 10)));
    expect(seen).toEqual([[1, 2], [3, 4], [5]]);
    expect(out).toEqual([10, 20, 30, 40, 50]);
    const whole = [1, 2];
    await inSlices(whole, 2, async (slice) => void expect(slice).toBe(whole));
  });
});

describe('batchDeadline()', () => {
  it('is the base deadline up to one slice, and one more per further slice', () => {
    expect(batchDeadline(1000, 1)).toBe(1000);
    expect(batchDeadline(1000, DEADLINE_SLICE)).toBe(1000);
    expect(batchDeadline(1000, DEADLINE_SLICE + 1)).toBe(2000);
    expect(batchDeadline(500, 100 * DEADLINE_SLICE)).toBe(50_000);
  });
});
