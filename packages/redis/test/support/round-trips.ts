import type { Cluster, Redis } from 'ioredis';

interface Sendable {
  sendCommand(command: unknown, stream?: { isPipeline?: boolean }): unknown;
}

/** Network round trips per Redis node, counted at the client: a pipeline is one, a lone command one. */
export interface RoundTrips {
  /** Round trips per node (`host:port`) since the last reset. */
  perNode(): Map<string, number>;
  total(): number;
  reset(): void;
  /** Puts the clients' own `sendCommand` back. */
  restore(): void;
}

/**
 * Counts round trips by wrapping `sendCommand` of the standalone client, or of every node of a
 * connected Cluster: commands of one pipeline share one write to the socket, so they count once.
 * Monitoring from the server side (MONITOR, INFO) would count commands, not round trips.
 */
export function countRoundTrips(client: Redis | Cluster): RoundTrips {
  const nodes: Redis[] = (client as Cluster).isCluster ? (client as Cluster).nodes('all') : [client as Redis];
  if (nodes.length === 0) throw new Error('connect the Cluster before counting its round trips');
  const counts = new Map<string, number>();
  const restores: (() => void)[] = [];
  for (const node of nodes) {
    const name = `${node.options.host}:${node.options.port}`;
    const target = node as unknown as Sendable;
    const original = target.sendCommand;
    const pipelines = new WeakSet<object>();
    target.sendCommand = function (command, stream) {
      const counted = stream?.isPipeline ? !pipelines.has(stream) : true;
      if (stream?.isPipeline) pipelines.add(stream);
      if (counted) counts.set(name, (counts.get(name) ?? 0) + 1);
      return original.call(this, command, stream);
    };
    restores.push(() => {
      target.sendCommand = original;
    });
  }
  return {
    perNode: () => new Map(counts),
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    restore: () => restores.forEach((r) => r()),
  };
}
