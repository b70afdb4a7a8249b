import 'reflect-metadata';
import { Stockpyle } from '@stockpyle/core';

/** Keys every case draws from. */
export const KEY_COUNT = 10_000;

/** The cached object: about 200 bytes as JSON, like a small entity row. */
@Stockpyle({ keys: ['id'] })
export class Item {
  constructor(
    public id: number,
    public name: string,
    public email: string,
    public score: number,
    public active: boolean,
    public tags: string[],
    public note: string,
  ) {}
}

const NOTE = 'A short free-text note, so that the object is about two hundred bytes.';

/** Item number `id`; every field but `id` differs per item only where a real row would. */
export function makeItem(id: number): Item {
  return new Item(id, `Item ${id}`, `item${id}@example.com`, id * 1.5, id % 2 === 0, ['alpha', 'beta'], NOTE);
}

/** The plain data of an item, as a raw client's user would cache it. */
export function plainItem(id: number): Record<string, unknown> {
  return { ...makeItem(id) };
}

/** 0 … n-1 in a fixed shuffled order (a deterministic LCG), so runs are comparable. */
export function shuffledIds(n: number, seed = 12345): number[] {
  const ids = Array.from({ length: n }, (_v, i) => i + 1);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids;
}

/** Splits ids into consecutive blocks of `size`. */
export function blocks(ids: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + size <= ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}
