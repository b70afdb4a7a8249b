import { DictionaryStore, type Store } from '@stockpyle/core';

/** A tier below process memory, with a name to print. */
export interface NamedTier {
  name: string;
  store: Store;
}

/**
 * The tiers under process memory: real services when STOCKPYLE_* variables name them, else an
 * in-process dictionary standing in for a shared cache, so the demo runs with nothing installed.
 */
export async function extraTiers(): Promise<{ tiers: NamedTier[]; close(): Promise<void> }> {
  const tiers: NamedTier[] = [{ name: 'dictionary (Map)', store: new DictionaryStore(new Map()) }];
  return { tiers, close: async () => undefined };
}
