import { Buffer } from 'node:buffer';
import { StockpyleError } from '@stockpyle/core';

/** memcached's limit on key length, and the point past which memjs hangs the connection. */
export const MAX_KEY_BYTES = 250;

/** A key that memcached or memjs would choke on; the key builder never makes one, so this is a bug. */
export class UnsafeKeyError extends StockpyleError {
  static override readonly code = 'E_UNSAFE_KEY';

  static forKey(key: string): UnsafeKeyError {
    const bytes = Buffer.byteLength(key);
    return new UnsafeKeyError(
      `a memcached key must be 1–${MAX_KEY_BYTES} bytes of printable ASCII without spaces; refused one of ${bytes} bytes before sending it`,
    );
  }
}
