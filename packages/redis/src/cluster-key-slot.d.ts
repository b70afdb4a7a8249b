// cluster-key-slot ships no types; this is the one function ioredis itself routes with.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0–16383) of a key, honouring `{hash tags}`. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
