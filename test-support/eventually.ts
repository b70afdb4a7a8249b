/**
 * Retries `check` until it resolves, or rethrows its last error after `timeoutMs`: for effects that
 * arrive on their own (a server's readiness, a client's background reconnection, a background
 * replay), never to order two operations of a test.
 */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
