import { Buffer } from 'node:buffer';
import { MAX_KEY_BYTES, UnsafeKeyError } from './errors';

/**
 * The few memcached binary-protocol requests this package sends below memjs's API: quiet variants,
 * so a batch is one write answered only where something is found or fails, closed by a NOOP.
 * See https://github.com/memcached/memcached/wiki/BinaryProtocolRevamped.
 */
export const Opcode = {
  GETKQ: 0x0d,
  SETQ: 0x11,
  ADDQ: 0x12,
  DELETEQ: 0x14,
  NOOP: 0x0a,
} as const;

/** Response statuses this package tells apart; anything else is a failure of the tier. */
export const Status = {
  OK: 0x00,
  KEY_ENOENT: 0x01,
  KEY_EEXISTS: 0x02,
  E2BIG: 0x03,
  NOT_STORED: 0x05,
} as const;

const STATUS_NAMES: Record<number, string> = {
  0x00: 'no error',
  0x01: 'key not found',
  0x02: 'key exists',
  0x03: 'value too large',
  0x04: 'invalid arguments',
  0x05: 'item not stored',
  0x06: 'non-numeric value',
  0x07: 'wrong vbucket',
  0x08: 'authentication error',
  0x09: 'authentication continue',
  0x81: 'unknown command',
  0x82: 'out of memory',
  0x83: 'not supported',
  0x84: 'internal error',
  0x85: 'busy',
  0x86: 'temporary failure',
};

/** A readable name for a response status, for error messages. */
export function statusName(status: number): string {
  return `${STATUS_NAMES[status] ?? 'unknown status'} (0x${status.toString(16).padStart(2, '0')})`;
}

const HEADER_BYTES = 24;
const REQUEST_MAGIC = 0x80;
const SAFE_KEY = /^[\x21-\x7e]+$/;

/** One request of a batch. `cas` (8 bytes) makes a store or delete conditional on the item's version. */
export interface WireRequest {
  readonly opcode: number;
  readonly key: string;
  /** Expiry in memcached's form, for SETQ/ADDQ. */
  readonly exptime?: number;
  /** A string is sent as UTF-8. */
  readonly value?: Buffer | string;
  readonly cas?: Buffer;
}

/** What came back for one request: quiet requests answer only on a hit (GETKQ) or a failure. */
export interface WireReply {
  readonly status: number;
  readonly value: Buffer;
  readonly cas: Buffer;
}

/** Throws `UnsafeKeyError` unless memcached accepts `key` as is. */
export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_BYTES || !SAFE_KEY.test(key)) throw UnsafeKeyError.forKey(key);
}

/**
 * Encodes requests with opaques `firstOpaque`, `firstOpaque + 1`, …, followed by a NOOP with the
 * next opaque, into one buffer. Validates every key first, so nothing is sent if one is unsafe.
 * String values are written as UTF-8 in one pass per value: the buffer is sized for their worst
 * case (three bytes per UTF-16 unit) and each header's body length is filled in once written.
 */
export function encodeBatch(requests: readonly WireRequest[], firstOpaque: number): Buffer {
  let bound = HEADER_BYTES; // the closing NOOP
  for (const request of requests) {
    assertSafeKey(request.key);
    const value = request.value;
    const extras = request.opcode === Opcode.SETQ || request.opcode === Opcode.ADDQ ? 8 : 0;
    bound += HEADER_BYTES + extras + request.key.length + (value === undefined ? 0 : typeof value === 'string' ? utf8Bound(value) : value.length);
  }
  const buf = Buffer.allocUnsafe(bound);
  let at = 0;
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    const extras = request.opcode === Opcode.SETQ || request.opcode === Opcode.ADDQ ? 8 : 0;
    const keyLength = request.key.length;
    const header = at;
    at += HEADER_BYTES;
    if (extras > 0) {
      buf.writeUInt32BE(0, at); // flags: unused
      buf.writeUInt32BE(request.exptime ?? 0, at + 4);
      at += extras;
    }
    at += buf.write(request.key, at, 'latin1');
    const value = request.value;
    if (typeof value === 'string') at += buf.write(value, at, 'utf8');
    else if (value !== undefined) at += value.copy(buf, at);
    writeHeader(buf, header, request.opcode, keyLength, extras, at - header - HEADER_BYTES, firstOpaque + i, request.cas);
  }
  writeHeader(buf, at, Opcode.NOOP, 0, 0, 0, firstOpaque + requests.length, undefined);
  return buf.subarray(0, at + HEADER_BYTES);
}

// Small strings get room for their worst case (no counting pass); large ones are counted exactly.
function utf8Bound(value: string): number {
  return value.length <= 4096 ? value.length * 3 : Buffer.byteLength(value, 'utf8');
}

function writeHeader(buf: Buffer, at: number, opcode: number, keyLength: number, extras: number, body: number, opaque: number, cas: Buffer | undefined): number {
  buf[at] = REQUEST_MAGIC;
  buf[at + 1] = opcode;
  buf[at + 2] = keyLength >>> 8;
  buf[at + 3] = keyLength & 0xff;
  buf[at + 4] = extras;
  buf[at + 5] = 0; // data type
  buf[at + 6] = 0; // vbucket
  buf[at + 7] = 0;
  buf.writeUInt32BE(body, at + 8);
  buf.writeUInt32BE(opaque, at + 12);
  if (cas === undefined) buf.fill(0, at + 16, at + HEADER_BYTES);
  else cas.copy(buf, at + 16, 0, 8);
  return at + HEADER_BYTES;
}
