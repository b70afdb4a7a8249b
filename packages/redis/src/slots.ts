import calculateSlot from 'cluster-key-slot';

/** Number of hash slots of a Redis Cluster. */
export const SLOT_COUNT = 16_384;

/**
 * The hash slot `key` lands in once the client has put its own `keyPrefix` in front, computed
 * exactly as ioredis routes it (same package, same CRC16, same `{hash tag}` rule).
 */
export function slotOf(key: string, keyPrefix = ''): number {
  return calculateSlot(keyPrefix + key);
}

/**
 * Groups keys by hash slot, keeping each key's position in `keys`: a Cluster refuses multi-key
 * commands (MGET, UNLINK) whose keys span slots.
 */
export function groupBySlot(keys: readonly string[], keyPrefix = ''): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = slotOf(key, keyPrefix);
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [i]);
    else group.push(i);
  });
  return groups;
}

/**
 * Groups items by the node that serves their slot, as in the client's slot table (`Cluster#slots`:
 * slot → node keys, master first). A slot the table does not know yet goes into a group of its own,
 * which costs a round trip but is routed right by the client.
 */
export function groupByNode<T>(
  items: readonly T[],
  slotOfItem: (item: T) => number,
  table: readonly (readonly string[] | undefined)[],
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const slot = slotOfItem(item);
    const node = table[slot]?.[0] ?? `slot:${slot}`;
    const group = groups.get(node);
    if (group === undefined) groups.set(node, [item]);
    else group.push(item);
  }
  return groups;
}
