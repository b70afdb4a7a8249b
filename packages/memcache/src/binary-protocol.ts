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
const NO_CAS = Buffer.alloc(8);

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

function bodyOf(request: WireRequest): { extras: number; value: number } {
  const isStore = request.opcode === Opcode.SETQ || request.opcode === Opcode.ADDQ;
  const value = request.value;
  return { extras: isStore ? 8 : 0, value: value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length };
}

/**
 * Encodes requests with opaques `firstOpaque`, `firstOpaque + 1`, …, followed by a NOOP with the
 * next opaque, into one buffer. Validates every key first, so nothing is sent if one is unsafe.
 */
export function encodeBatch(requests: readonly WireRequest[], firstOpaque: number): Buffer {
  const bodies = requests.map((request) => {
    assertSafeKey(request.key);
    return bodyOf(request);
  });
  let total = HEADER_BYTES; // the closing NOOP
  requests.forEach((request, i) => (total += HEADER_BYTES + bodies[i]!.extras + request.key.length + bodies[i]!.value));
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  requests.forEach((request, i) => {
    const body = bodies[i]!;
    const keyLength = request.key.length;
    at = writeHeader(buf, at, request.opcode, keyLength, body.extras, body.extras + keyLength + body.value, firstOpaque + i, request.cas);
    if (body.extras > 0) {
      buf.writeUInt32BE(0, at); // flags: unused
      buf.writeUInt32BE(request.exptime ?? 0, at + 4);
      at += body.extras;
    }
    at += buf.write(request.key, at, 'latin1');
    const value = request.value;
    if (typeof value === 'string') at += buf.write(value, at, 'utf8');
    else if (value !== undefined) at += value.copy(buf, at);
  });
  writeHeader(buf, at, Opcode.NOOP, 0, 0, 0, firstOpaque + requests.length, undefined);
  return buf;
}

function writeHeader(buf: Buffer, at: number, opcode: number, keyLength: number, extras: number, body: number, opaque: number, cas: Buffer | undefined): number {
  buf.writeUInt8(REQUEST_MAGIC, at);
  buf.writeUInt8(opcode, at + 1);
  buf.writeUInt16BE(keyLength, at + 2);
  buf.writeUInt8(extras, at + 4);
  buf.writeUInt8(0, at + 5); // data type
  buf.writeUInt16BE(0, at + 6); // vbucket
  buf.writeUInt32BE(body, at + 8);
  buf.writeUInt32BE(opaque, at + 12);
  (cas ?? NO_CAS).copy(buf, at + 16, 0, 8);
  return at + HEADER_BYTES;
}
