import { describe, expect, it } from '@jest/globals';
import { BusMessageError, decodeBusMessage, encodeBusMessages } from '@stockpyle/core';

describe('encodeBusMessages()', () => {
  it('puts every key in one message when they fit, in order, and decodes back', () => {
    const keys = ['a', 'b:c', 'ü"\\\n', ''];
    const { messages, oversized } = encodeBusMessages('origin-1', keys, 1024);
    expect(oversized).toEqual([]);
    expect(messages).toHaveLength(1);
    expect(decodeBusMessage(messages[0]!)).toEqual({ origin: 'origin-1', keys });
  });

  it('splits a batch into messages of at most maxBytes UTF-8 bytes each, losing no key', () => {
    const keys = Array.from({ length: 500 }, (_v, i) => `stockpyle:1:Item:id=${i}:ß`);
    const { messages } = encodeBusMessages('o', keys, 256);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(256);
    expect(messages.flatMap((m) => decodeBusMessage(m).keys)).toEqual(keys);
  });

  it('returns a key that alone exceeds maxBytes as oversized, and sends the others', () => {
    const { messages, oversized } = encodeBusMessages('o', ['small', 'x'.repeat(300), 'other'], 128);
    expect(oversized).toEqual(['x'.repeat(300)]);
    expect(messages.flatMap((m) => decodeBusMessage(m).keys)).toEqual(['small', 'other']);
  });
});

describe('decodeBusMessage()', () => {
  it.each([
    ['not JSON', 'garbage{'],
    ['another format version', '{"v":2,"o":"x","k":["a"]}'],
    ['no origin', '{"v":1,"k":["a"]}'],
    ['keys that are not strings', '{"v":1,"o":"x","k":[1]}'],
    ['null', 'null'],
  ])('throws BusMessageError for %s', (_what, text) => {
    expect(() => decodeBusMessage(text)).toThrow(BusMessageError);
  });
});
