import type { Bus, BusErrorEvent, BusListener, BusState } from '@stockpyle/core';
import { Cluster, Redis } from 'ioredis';

/** A bus listener that records what it hears and lets a test wait for a state or for keys. */
export interface RecordingListener extends BusListener {
  readonly heard: string[][];
  readonly states: BusState[];
  /** Resolves when the `n`th `state` report (1-based) has arrived; rejects after `timeoutMs`. */
  stateAt(n: number, timeoutMs?: number): Promise<BusState>;
  /** Every key heard, in order. */
  readonly keysHeard: string[];
}

export function recordingListener(): RecordingListener {
  const heard: string[][] = [];
  const states: BusState[] = [];
  const waiters: { n: number; resolve: (state: BusState) => void }[] = [];
  return {
    heard,
    states,
    get keysHeard() {
      return heard.flat();
    },
    keys: (keys) => void heard.push([...keys]),
    state: (state) => {
      states.push(state);
      for (const w of waiters.filter((w) => w.n === states.length)) w.resolve(state);
    },
    stateAt: (n, timeoutMs = 15_000) =>
      n <= states.length
        ? Promise.resolve(states[n - 1]!)
        : new Promise<BusState>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`state report ${n} did not arrive; got ${JSON.stringify(states)}`)), timeoutMs);
            waiters.push({ n, resolve: (state) => (clearTimeout(timer), resolve(state)) });
          }),
  };
}

/** Collects a bus's error events. */
export function collectErrors(bus: Bus): BusErrorEvent[] {
  const errors: BusErrorEvent[] = [];
  bus.on('error', (event) => void errors.push(event));
  return errors;
}

/** A plain ioredis subscriber on a bus channel, to count and read the messages Redis carries. */
export interface RawSubscriber {
  readonly messages: string[];
  close(): Promise<void>;
}

/** Subscribes with ioredis's own machinery (sharded subscribers on a Cluster when `sharded`). */
export async function rawSubscriber(target: { url: string } | { seeds: string[] }, channel: string, sharded: boolean): Promise<RawSubscriber> {
  const messages: string[] = [];
  const onMessage = (from: string, text: string): void => {
    if (from === channel) messages.push(text);
  };
  if ('url' in target) {
    const client = new Redis(target.url);
    client.on(sharded ? 'smessage' : 'message', onMessage);
    await (sharded ? client.ssubscribe(channel) : client.subscribe(channel));
    return { messages, close: async () => void (await client.quit()) };
  }
  const cluster = new Cluster(target.seeds, { shardedSubscribers: sharded });
  cluster.on(sharded ? 'smessage' : 'message', onMessage);
  await (sharded ? cluster.ssubscribe(channel) : cluster.subscribe(channel));
  return {
    messages,
    close: async () => {
      await cluster.quit();
    },
  };
}

/** Sockets keeping this process alive now (every Redis connection is one). */
export function openSockets(): number {
  return process.getActiveResourcesInfo().filter((type) => type === 'TCPSocketWrap').length;
}
