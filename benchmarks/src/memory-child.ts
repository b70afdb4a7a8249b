// Case 7, run in a process of its own (node --expose-gc) so that nothing else is on its heap.
// Arguments: puts, maxSize (bytes), max (entries). Prints one line of JSON.
import 'reflect-metadata';
import { ProcessMemoryStore, Stockpyle } from '@stockpyle/core';

/** About 1 KB on the heap: a unique 1,000-character string and two small fields. */
@Stockpyle({ keys: ['id'] })
class Blob {
  constructor(
    public id: number,
    public label: string,
    public data: string,
  ) {}
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const scratch = Buffer.alloc(1000, 'x');

/** A new flat one-byte string of 1,000 characters, unique to `i` (a string of its own on the heap). */
function payload(i: number): string {
  scratch.write(String(i).padStart(12, '0'), 0, 'latin1');
  return scratch.toString('latin1');
}

function settle(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const [puts, maxSize, max] = process.argv.slice(2).map(Number) as [number, number, number];
  const before = settle();
  const beforeBuffers = process.memoryUsage().arrayBuffers;
  const store = new ProcessMemoryStore({ maxSize, max });
  let peak = 0;
  const start = process.hrtime.bigint();
  for (let i = 1; i <= puts; i++) {
    await store.put(new Blob(i, `Blob ${i}`, payload(i)));
    if (i % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const growth = settle() - before;
  const buffers = process.memoryUsage().arrayBuffers - beforeBuffers;
  process.stdout.write(
    `${JSON.stringify({ growth, peak, buffers, entries: store.size, calculatedSize: store.calculatedSize, putMicros: (ms * 1000) / puts })}\n`,
  );
  // Keeps the store alive until after the last measurement.
  if (store.size < 0) console.log('unreachable');
}

void main();
