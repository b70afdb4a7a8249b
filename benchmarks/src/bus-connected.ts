import type { Bus } from '@stockpyle/core';

/**
 * Resolves once `bus` is subscribed: a chain clears its in-process tiers on `connected` and, until
 * then, serves only young entries from them, so a case fills them and measures only after this.
 */
export async function busConnected(bus: Bus, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!bus.connected) {
    if (Date.now() > deadline) throw new Error(`${bus.name} did not connect within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
