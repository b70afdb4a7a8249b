/**
 * Another client of the same server, reading one key over and over in a worker thread while a test
 * runs a large batch, so that its latencies show how the server treats other clients (not how busy
 * the test's own event loop is). Bounded: it stops when asked, after `maxMs` or after `maxReads`.
 */
import { Worker } from 'node:worker_threads';

/** Which raw client the worker uses, and where it connects. */
export type ReaderTarget =
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'redis-cluster'; readonly seeds: readonly string[] }
  | { readonly kind: 'memcached'; readonly servers: string };

/** What the reader saw, in milliseconds per read. */
export interface ReaderFigures {
  readonly reads: number;
  readonly failures: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ConcurrentReader {
  /** Resolves once the worker has connected and answered its first read. */
  readonly ready: Promise<void>;
  /** Stops the reads, closes the worker's client and ends the thread. */
  stop(): Promise<ReaderFigures>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { target, key, maxMs, maxReads, ioredis, memjs } = workerData;
let stopping = false;
parentPort.on('message', () => { stopping = true; });
async function main() {
  let read, close;
  if (target.kind === 'memcached') {
    const client = require(memjs).Client.create(target.servers, { retries: 0, timeout: 5, logger: { log() {} } });
    read = () => client.get(key);
    close = () => client.close();
  } else {
    const { Redis, Cluster } = require(ioredis);
    const client = target.kind === 'redis' ? new Redis(target.url, { maxRetriesPerRequest: 0 }) : new Cluster(target.seeds);
    read = () => client.get(key);
    close = () => client.disconnect();
  }
  const times = [];
  let failures = 0;
  const started = Date.now();
  await read().catch(() => undefined);
  parentPort.postMessage({ type: 'ready' });
  while (!stopping && times.length < maxReads && Date.now() - started < maxMs) {
    const t = process.hrtime.bigint();
    try { await read(); } catch { failures++; }
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  close();
  times.sort((a, b) => a - b);
  const at = (q) => (times.length === 0 ? 0 : times[Math.min(times.length - 1, Math.floor(q * times.length))]);
  parentPort.postMessage({ type: 'done', figures: { reads: times.length, failures, p50: at(0.5), p99: at(0.99), max: at(1) } });
}
main().catch((error) => parentPort.postMessage({ type: 'error', message: String(error && error.stack || error) }));
`;

/** Starts reading `key` from `target` in a worker thread, as fast as one client in a loop can. */
export function startConcurrentReader(target: ReaderTarget, key: string, maxMs = 120_000, maxReads = 2_000_000): ConcurrentReader {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { target, key, maxMs, maxReads, ioredis: require.resolve('ioredis'), memjs: require.resolve('memjs') },
  });
  let onReady: () => void = () => undefined;
  let onFail: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => ((onReady = resolve), (onFail = reject)));
  const done = new Promise<ReaderFigures>((resolve, reject) => {
    worker.on('message', (message: { type: string; figures?: ReaderFigures; message?: string }) => {
      if (message.type === 'ready') onReady();
      else if (message.type === 'done') resolve(message.figures!);
      else {
        const error = new Error(`concurrent reader failed: ${message.message}`);
        onFail(error);
        reject(error);
      }
    });
    worker.on('error', (error) => (onFail(error), reject(error)));
  });
  return {
    ready,
    async stop() {
      worker.postMessage('stop');
      try {
        return await done;
      } finally {
        await worker.terminate();
      }
    },
  };
}

/** One line for a test's output: how the other client fared. */
export function describeFigures(label: string, figures: ReaderFigures): string {
  const ms = (v: number): string => `${v.toFixed(2)} ms`;
  return `${label}: ${figures.reads} single gets from another client, p50 ${ms(figures.p50)}, p99 ${ms(figures.p99)}, max ${ms(figures.max)}, ${figures.failures} failed`;
}
