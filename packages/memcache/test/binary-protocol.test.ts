import { Buffer } from 'node:buffer';
import { UnsafeKeyError } from '@stockpyle/memcache';
import { assertSafeKey, encodeBatch, Opcode } from '../src/binary-protocol';
import { MAX_KEY_BYTES } from '../src/errors';

describe('binary protocol', () => {
  describe('encodeBatch()', () => {
    it('lays out each request and closes the batch with a NOOP', () => {
      const cas = Buffer.from('0102030405060708', 'hex');
      const buf = encodeBatch([{ opcode: Opcode.SETQ, key: 'k1', exptime: 61, value: 'vé', cas }, { opcode: Opcode.GETKQ, key: 'key2' }], 0x8000_0010);
      // SETQ: header, 8 bytes extras (flags, exptime), key, UTF-8 value
      expect(buf.readUInt8(0)).toBe(0x80);
      expect(buf.readUInt8(1)).toBe(Opcode.SETQ);
      expect(buf.readUInt16BE(2)).toBe(2);
      expect(buf.readUInt8(4)).toBe(8);
      expect(buf.readUInt32BE(8)).toBe(8 + 2 + 3);
      expect(buf.readUInt32BE(12)).toBe(0x8000_0010);
      expect(buf.subarray(16, 24)).toEqual(cas);
      expect(buf.readUInt32BE(24)).toBe(0);
      expect(buf.readUInt32BE(28)).toBe(61);
      expect(buf.toString('latin1', 32, 34)).toBe('k1');
      expect(buf.toString('utf8', 34, 37)).toBe('vé');
      // GETKQ: header and key only, no CAS
      const get = 37;
      expect(buf.readUInt8(get + 1)).toBe(Opcode.GETKQ);
      expect(buf.readUInt32BE(get + 8)).toBe(4);
      expect(buf.readUInt32BE(get + 12)).toBe(0x8000_0011);
      expect(buf.subarray(get + 16, get + 24)).toEqual(Buffer.alloc(8));
      // NOOP with the next opaque
      const noop = get + 24 + 4;
      expect(buf.length).toBe(noop + 24);
      expect(buf.readUInt8(noop + 1)).toBe(Opcode.NOOP);
      expect(buf.readUInt32BE(noop + 8)).toBe(0);
      expect(buf.readUInt32BE(noop + 12)).toBe(0x8000_0012);
    });

    it('sizes each body by the UTF-8 bytes written, for short and long strings and buffers alike', () => {
      const values = ['ascii', 'é€𝄞', `${'é'.repeat(5000)}x`, Buffer.from([1, 2, 3])];
      const buf = encodeBatch(values.map((value, i) => ({ opcode: Opcode.ADDQ, key: `k${i}`, exptime: 5, value })), 7);
      let at = 0;
      values.forEach((value, i) => {
        const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
        expect(buf.readUInt8(at + 1)).toBe(Opcode.ADDQ);
        expect(buf.readUInt32BE(at + 8)).toBe(8 + 2 + bytes.length);
        expect(buf.readUInt32BE(at + 12)).toBe(7 + i);
        expect(buf.subarray(at + 16, at + 24)).toEqual(Buffer.alloc(8));
        expect(buf.subarray(at + 34, at + 34 + bytes.length)).toEqual(bytes);
        at += 34 + bytes.length;
      });
      expect(buf.readUInt8(at + 1)).toBe(Opcode.NOOP);
      expect(buf.length).toBe(at + 24);
    });

    it('refuses the whole batch, before encoding anything, when one key is unsafe', () => {
      const long = 'k'.repeat(MAX_KEY_BYTES + 1);
      expect(() => encodeBatch([{ opcode: Opcode.GETKQ, key: 'ok' }, { opcode: Opcode.GETKQ, key: long }], 1)).toThrow(UnsafeKeyError);
    });
  });

  describe('assertSafeKey()', () => {
    it('accepts printable ASCII keys up to 250 bytes', () => {
      expect(() => assertSafeKey('stockpyle:1:Foo:id=n1')).not.toThrow();
      expect(() => assertSafeKey('k'.repeat(MAX_KEY_BYTES))).not.toThrow();
    });

    it('refuses keys memjs would hang on or memcached would refuse', () => {
      for (const key of ['', 'k'.repeat(MAX_KEY_BYTES + 1), 'has space', 'new\nline', 'tab\t', 'é', '\u0000']) {
        expect(() => assertSafeKey(key)).toThrow(UnsafeKeyError);
      }
    });

    it('names the size but not the key in its error', () => {
      const key = `secret-${'x'.repeat(300)}`;
      expect(() => assertSafeKey(key)).toThrow(/307 bytes/);
      try {
        assertSafeKey(key);
      } catch (error) {
        expect((error as Error).message).not.toContain('secret');
        expect((error as UnsafeKeyError).code).toBe('E_UNSAFE_KEY');
      }
    });
  });
});
