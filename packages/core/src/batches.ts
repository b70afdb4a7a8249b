/**
 * Splitting a large batch into round trips a backend serves well. A remote tier sends each chunk
 * as its own round trip under its own deadline, a few at a time: a 100,000-object batch is then
 * many short requests, each answered well within the deadline, instead of one request the deadline
 * cannot cover, and other clients of a single-threaded server are served between the chunks.
 */

/** Objects a chain's tier deadline covers: a tier call of more objects gets one more deadline per slice. */
export const DEADLINE_SLICE = 1_000;

/**
 * The deadline for one tier call about `count` objects: `base` for up to `DEADLINE_SLICE`
 * objects, one more `base` per further slice. A remote store enforces its own deadline on every
 * chunk, so a dead server still fails such a call within one chunk's deadline; this only keeps a
 * large, healthy batch from being cut off (and counted as a failure) while it is still progressing.
 */
export function batchDeadline(base: number, count: number): number {
  return count <= DEADLINE_SLICE ? base : base * Math.ceil(count / DEADLINE_SLICE);
}

/** How `chunkIndexes` closes a chunk: at `maxItems` items, or once it holds `maxBytes` (when sizes are given). */
export interface ChunkLimits {
  readonly maxItems: number;
  /** @default Infinity */
  readonly maxBytes?: number;
}

/**
 * Positions 0 … count-1 cut into consecutive chunks by the limits; `size(i)` is item i's weight in
 * bytes, `items(i)` how many items it counts for (a multi-key command counts its keys; default 1).
 * An item over a limit gets a chunk of its own. One chunk when everything fits, which is the
 * common case and allocates one array.
 */
export function chunkIndexes(count: number, limits: ChunkLimits, size?: (i: number) => number, items?: (i: number) => number): number[][] {
  const { maxItems, maxBytes = Infinity } = limits;
  if (count <= maxItems && items === undefined && (size === undefined || maxBytes === Infinity)) return [Array.from({ length: count }, (_v, i) => i)];
  const chunks: number[][] = [];
  let chunk: number[] = [];
  let bytes = 0;
  let counted = 0;
  for (let i = 0; i < count; i++) {
    const weight = size === undefined ? 0 : size(i);
    const n = items === undefined ? 1 : items(i);
    if (chunk.length > 0 && (counted + n > maxItems || bytes + weight > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
      counted = 0;
    }
    chunk.push(i);
    bytes += weight;
    counted += n;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Runs `run(0)` … `run(count - 1)` with at most `concurrency` in flight; resolves when all have,
 * rejects with the first failure and starts nothing after it (those already in flight settle on
 * their own and are not awaited).
 */
export function runBounded(count: number, concurrency: number, run: (i: number) => Promise<void>): Promise<void> {
  if (count === 0) return Promise.resolve();
  if (count === 1) return run(0);
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failed = false;
    const launch = (): void => {
      const i = next++;
      let started: Promise<void>;
      try {
        started = run(i);
      } catch (error) {
        started = Promise.reject(error);
      }
      started.then(
        () => {
          if (failed) return;
          if (++done === count) resolve();
          else if (next < count) launch();
        },
        (error: unknown) => {
          if (failed) return;
          failed = true;
          reject(error);
        },
      );
    };
    for (let k = 0; k < Math.min(concurrency, count); k++) launch();
  });
}

/**
 * Runs `fn` on consecutive slices of at most `size` items, one after another; with `collect`, the
 * slices' results joined in order. One call, with the items themselves, when they fit.
 */
export async function inSlices<T, R>(items: readonly T[], size: number, fn: (slice: readonly T[]) => Promise<R[] | void>): Promise<R[]> {
  if (items.length <= size) return ((await fn(items)) ?? []) as R[];
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    const got = await fn(items.slice(i, i + size));
    if (got !== undefined) for (const r of got) out.push(r);
  }
  return out;
}
