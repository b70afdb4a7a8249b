import { chunkIndexes, runBounded, withDeadline } from '@stockpyle/core';
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

/** The deadline of each round trip of a batch, and what a `TimeoutError` names. */
export interface RoundTripDeadline {
  readonly ms: number;
  readonly what: string;
}

/**
 * Keys per multi-key command (MGET, UNLINK): Redis runs one command to the end before serving any
 * other client, so an MGET of 50,000 keys stalls every client of the server; 500 keys of a few
 * hundred bytes take it a fraction of a millisecond.
 */
export const MAX_KEYS_PER_COMMAND = 500;
/**
 * Commands per pipeline (a multi-key command counts each of its keys), and the bytes of their arguments: Redis queues a pipeline's replies in
 * memory until they are sent, and its documentation advises batches of a reasonable number of
 * commands (it names 10k) read back before the next is sent; smaller chunks also keep each round
 * trip well inside the store's deadline.
 */
export const MAX_COMMANDS_PER_PIPELINE = 250;
export const MAX_PIPELINE_BYTES = 4 * 1024 * 1024;
/**
 * Round trips of one batch in flight at once. ioredis starts each command's `commandTimeout` when
 * it is queued, so more in flight would let commands queued behind others time out in a busy process.
 */
export const ROUND_TRIPS_IN_FLIGHT = 2;

/** How the replies of one command split into several (all of whose arguments are keys) are joined again. */
const SPLITTABLE: Record<string, 'concat' | 'sum'> = { mget: 'concat', unlink: 'sum', del: 'sum' };

type Invoke = (...args: readonly (string | number)[]) => Promise<unknown>;

/** True for an ioredis `Cluster` (ioredis marks both kinds with `isCluster`). */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/**
 * Sends the calls and returns their replies in order. A small batch costs one round trip per node
 * touched (one pipeline, or the command itself); a large one is cut into chunks — multi-key
 * commands of more than `MAX_KEYS_PER_COMMAND` keys into several commands, pipelines at
 * `MAX_COMMANDS_PER_PIPELINE` commands or `MAX_PIPELINE_BYTES` — of which at most
 * `ROUND_TRIPS_IN_FLIGHT` are in flight at once (over all nodes: they share this process's event
 * loop), each under `deadline` of its own. The first failed command or round trip fails the batch.
 */
export async function runCalls(client: RedisClient, calls: readonly RedisCall[], deadline?: RoundTripDeadline): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const split = splitLongCommands(calls);
  const sent = split === undefined ? calls : split.calls;
  const replies = await runChunks(client, nodeChunks(client, sent), sent, deadline);
  return split === undefined ? replies : split.join(replies);
}

/** Positions of `calls` cut into round trips: per node on a Cluster, then by the pipeline limits. */
function nodeChunks(client: RedisClient, calls: readonly RedisCall[]): number[][] {
  const size = (i: number): number => argBytes(calls[i]!);
  const items = (i: number): number => itemsOf(calls[i]!);
  const limits = { maxItems: MAX_COMMANDS_PER_PIPELINE, maxBytes: MAX_PIPELINE_BYTES };
  if (!isCluster(client)) return chunkIndexes(calls.length, limits, size, items);
  const prefix = client.options.keyPrefix ?? '';
  const indexes = calls.map((_c, i) => i);
  const groups = groupByNode(indexes, (i) => slotOf(calls[i]!.key, prefix), client.slots);
  const chunks: number[][] = [];
  for (const group of groups.values()) {
    for (const chunk of chunkIndexes(group.length, limits, (j) => size(group[j]!), (j) => items(group[j]!))) chunks.push(chunk.map((j) => group[j]!));
  }
  return chunks;
}

async function runChunks(client: RedisClient, chunks: readonly number[][], calls: readonly RedisCall[], deadline: RoundTripDeadline | undefined): Promise<unknown[]> {
  if (chunks.length === 1 && chunks[0]!.length === calls.length) return roundTrip(client, calls, deadline);
  const replies: unknown[] = new Array(calls.length);
  const run = async (c: number): Promise<void> => {
    const chunk = chunks[c]!;
    const got = await roundTrip(client, chunk.map((i) => calls[i]!), deadline);
    chunk.forEach((i, j) => (replies[i] = got[j]));
  };
  // A Cluster batch that fits in one round trip per node sends them all at once, as before.
  const concurrency = weightOf(calls) <= MAX_COMMANDS_PER_PIPELINE ? chunks.length : ROUND_TRIPS_IN_FLIGHT;
  await runBounded(chunks.length, concurrency, run);
  return replies;
}

function roundTrip(client: RedisClient, calls: readonly RedisCall[], deadline: RoundTripDeadline | undefined): Promise<unknown[]> {
  const sent = sendOnce(client, calls);
  return deadline === undefined ? sent : withDeadline(sent, deadline.ms, deadline.what);
}

/** One round trip: the command itself when there is one, else a pipeline. */
async function sendOnce(client: RedisClient, calls: readonly RedisCall[]): Promise<unknown[]> {
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

/** What a call counts for against `MAX_COMMANDS_PER_PIPELINE`: a multi-key command, its keys. */
function itemsOf(call: RedisCall): number {
  return SPLITTABLE[call.name] === undefined ? 1 : call.args.length;
}

function weightOf(calls: readonly RedisCall[]): number {
  let n = 0;
  for (const call of calls) n += itemsOf(call);
  return n;
}

function argBytes(call: RedisCall): number {
  let bytes = 0;
  for (const arg of call.args) bytes += typeof arg === 'string' ? arg.length : 8;
  return bytes;
}

/**
 * Multi-key commands with more keys than `MAX_KEYS_PER_COMMAND`, split into several with the same
 * routing key (all keys of one command share a slot), and how to join their replies; `undefined`
 * when no command needs it (the common case: nothing is copied).
 */
function splitLongCommands(calls: readonly RedisCall[]): { calls: RedisCall[]; join(replies: unknown[]): unknown[] } | undefined {
  if (!calls.some((c) => c.args.length > MAX_KEYS_PER_COMMAND && SPLITTABLE[c.name] !== undefined)) return undefined;
  const out: RedisCall[] = [];
  const spans: { from: number; to: number; how: 'concat' | 'sum' | undefined }[] = [];
  for (const call of calls) {
    const how = SPLITTABLE[call.name];
    const from = out.length;
    if (how === undefined || call.args.length <= MAX_KEYS_PER_COMMAND) out.push(call);
    else for (let i = 0; i < call.args.length; i += MAX_KEYS_PER_COMMAND) out.push({ ...call, args: call.args.slice(i, i + MAX_KEYS_PER_COMMAND) });
    spans.push({ from, to: out.length, how });
  }
  return {
    calls: out,
    join: (replies) =>
      spans.map(({ from, to, how }) => {
        if (how === undefined || to - from === 1) return replies[from];
        const parts = replies.slice(from, to);
        return how === 'sum' ? parts.reduce((n: number, r) => n + Number(r), 0) : (parts as unknown[][]).flat();
      }),
  };
}
