import { afterAll, describe, expect, it, jest } from '@jest/globals';
import type { BusListener } from '@stockpyle/core';
import { RedisBus, type RedisBusOptions } from '@stockpyle/redis';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';
import { recordingListener } from './support/bus-listener';

// A measurement, printed, never asserted: wall-clock figures depend on the machine's load.
jest.setTimeout(60_000);

const MESSAGES = 1_000;
const seeds = clusterNodes().map(({ host, port }) => `${host}:${port}`);
const lines: string[] = [];
afterAll(() => {
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
});

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

describe.each([
  ['standalone', { url: serviceUrl('redis') }],
  ['Cluster, sharded', { url: seeds }],
  ['Cluster, classic', { url: seeds, sharded: false }],
] as [string, Partial<RedisBusOptions>][])('RedisBus (%s)', (name, options) => {
  it(`delivers ${MESSAGES} publishes one at a time, in order (publish -> delivery latency printed)`, async () => {
    const prefix = `bus-latency-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const sender = new RedisBus({ ...options, prefix, timeout: 3_000 } as RedisBusOptions);
    const receiver = new RedisBus({ ...options, prefix, timeout: 3_000 } as RedisBusOptions);
    try {
      const ready = [recordingListener(), recordingListener()];
      sender.subscribe(ready[0]!);
      receiver.subscribe(ready[1]!);
      await Promise.all(ready.map((l) => l.stateAt(1)));
      let arrived: ((keys: readonly string[]) => void) | undefined;
      const listener: BusListener = { keys: (keys) => arrived?.(keys), state: () => undefined };
      receiver.subscribe(listener);
      const samples: number[] = [];
      const heard: string[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        const delivered = new Promise<readonly string[]>((resolve) => (arrived = resolve));
        const start = performance.now();
        sender.publish([`k${i}`]);
        heard.push(...(await delivered));
        samples.push(performance.now() - start);
      }
      expect(heard).toEqual(Array.from({ length: MESSAGES }, (_v, i) => `k${i}`));
      samples.sort((a, b) => a - b);
      const ms = (v: number): string => `${v.toFixed(3)} ms`;
      lines.push(`bus latency: RedisBus ${name}, ${MESSAGES} messages on loopback: p50 ${ms(quantile(samples, 0.5))}, p99 ${ms(quantile(samples, 0.99))}, max ${ms(samples.at(-1)!)}`);
    } finally {
      await Promise.all([sender.release(), receiver.release()]);
    }
  });
});
