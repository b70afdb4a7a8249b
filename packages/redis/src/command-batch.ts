import type { Cluster, Redis } from 'ioredis';
import { groupByNode, slotOf } from './slots';

/** A standalone ioredis client or a Cluster. */
export type RedisClient = Redis | Cluster;

/** One command to send: the client method, its arguments, and the key that routes it on a Cluster. */
export interface RedisCall {
  readonly name: string;
  readonly args: readonly (string | number)[];
  /** Any key of the command; all of a command's keys must share one slot on a Cluster. */
  readonly key: string;
}

type Invoke = (...args: readonly (string | number)[]) => Promise<unknown>;

/** True for an ioredis `Cluster` (ioredis marks both kinds with `isCluster`). */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/**
 * Sends the calls in as few round trips as the topology allows and returns their replies in order:
 * one pipeline for a standalone server, one pipeline per node touched on a Cluster (ioredis accepts
 * a pipeline whose keys span slots as long as one node serves them all). The first failed command
 * fails the batch.
 */
export async function runCalls(client: RedisClient, calls: readonly RedisCall[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  if (!isCluster(client)) return runOnOneNode(client, calls);
  const prefix = client.options.keyPrefix ?? '';
  const indexed = calls.map((call, i) => ({ call, i }));
  const groups = groupByNode(indexed, (c) => slotOf(c.call.key, prefix), client.slots);
  const results: unknown[] = new Array(calls.length);
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const replies = await runOnOneNode(
        client,
        group.map((g) => g.call),
      );
      group.forEach((g, j) => {
        results[g.i] = replies[j];
      });
    }),
  );
  return results;
}

/** One round trip: the command itself when there is one, else a pipeline. */
async function runOnOneNode(client: RedisClient, calls: readonly RedisCall[]): Promise<unknown[]> {
  if (calls.length === 1) {
    const call = calls[0]!;
    const method = (client as unknown as Record<string, Invoke>)[call.name]!;
    return [await method.call(client, ...call.args)];
  }
  const replies = await client.pipeline(calls.map((c) => [c.name, ...c.args])).exec();
  if (replies === null) throw new Error('Redis discarded the pipeline');
  return replies.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}
