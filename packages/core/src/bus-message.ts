import { BusMessageError } from './errors';

/** Bumped when the layout of a bus message changes; a bus ignores (and reports) other versions. */
export const BUS_MESSAGE_VERSION = 1;

/** What one bus message carries: who sent it and which keys. */
export interface BusMessage {
  readonly origin: string;
  readonly keys: readonly string[];
}

/** The keys of one publish, as messages of at most `maxBytes` bytes each. */
export interface EncodedBusMessages {
  /** JSON texts, in order; each holds at least one key and at most `maxBytes` UTF-8 bytes. */
  readonly messages: string[];
  /** Keys that alone would not fit in `maxBytes`: not sent. */
  readonly oversized: string[];
}

/**
 * Splits `keys` into as few messages as fit in `maxBytes` each (`{"v":1,"o":origin,"k":[…]}`),
 * keeping their order. Keys are opaque: any string, JSON-escaped.
 */
export function encodeBusMessages(origin: string, keys: readonly string[], maxBytes: number): EncodedBusMessages {
  const head = `{"v":${BUS_MESSAGE_VERSION},"o":${JSON.stringify(origin)},"k":[`;
  const tail = ']}';
  const room = maxBytes - Buffer.byteLength(head) - tail.length;
  const messages: string[] = [];
  const oversized: string[] = [];
  let parts: string[] = [];
  let used = 0;
  for (const key of keys) {
    const part = JSON.stringify(key);
    const size = Buffer.byteLength(part);
    if (size > room) {
      oversized.push(key);
      continue;
    }
    // one byte for the comma before every key but the first
    if (parts.length > 0 && used + 1 + size > room) {
      messages.push(head + parts.join(',') + tail);
      parts = [];
      used = 0;
    }
    used += (parts.length > 0 ? 1 : 0) + size;
    parts.push(part);
  }
  if (parts.length > 0) messages.push(head + parts.join(',') + tail);
  return { messages, oversized };
}

/** Reads one message; throws `BusMessageError` for anything but a message of this version. */
export function decodeBusMessage(text: string): BusMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BusMessageError(`A bus message is not JSON (${text.length} characters); another program may publish on the bus channel`);
  }
  const m = parsed as { v?: unknown; o?: unknown; k?: unknown } | null;
  if (m === null || typeof m !== 'object' || m.v !== BUS_MESSAGE_VERSION) {
    const version = m !== null && typeof m === 'object' ? String(m.v) : 'none';
    throw new BusMessageError(
      `A bus message has format version ${version}, this process reads ${BUS_MESSAGE_VERSION}: run one stockpyle version per bus channel, or give each its own prefix`,
    );
  }
  if (typeof m.o !== 'string' || !Array.isArray(m.k) || !m.k.every((key) => typeof key === 'string')) {
    throw new BusMessageError('A bus message lacks its origin or its list of string keys');
  }
  return { origin: m.o, keys: m.k as string[] };
}
