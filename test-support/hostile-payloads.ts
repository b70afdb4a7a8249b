/**
 * Payloads a cache tier may find under one of its keys without having written them: tampering,
 * another version of the library, a truncated or corrupted write, or hostile data. Every store's
 * hostile-input tests write these straight into the backend and read them back through the store.
 */
import { FORMAT_VERSION } from '@stockpyle/core';

/** A value envelope of the current format for class `className` with JSON object `data`. */
export function envelope(className: string, data: string): string {
  return `{"f":${FORMAT_VERSION},"k":"v","c":${JSON.stringify(className)},"e":0,"d":${data}}`;
}

/**
 * Named hostile payloads for an object of `className` whose valid fields are `fields` (JSON object
 * members, e.g. `"id":1,"slug":"doc-1"`): none may decode, pollute a prototype or throw.
 */
export function hostilePayloads(className: string, fields: string): [name: string, payload: string | Buffer][] {
  const env = (data: string): string => envelope(className, data);
  const valid = env(`{${fields}}`);
  return [
    ['__proto__ at the top of the data', env(`{${fields},"__proto__":{"polluted":true}}`)],
    ['__proto__ nested in a field', env(`{${fields},"body":{"__proto__":{"polluted":true}}}`)],
    ['constructor.prototype', env(`{${fields},"constructor":{"prototype":{"polluted":true}}}`)],
    ['__proto__ in a raw-tagged object', env(`{${fields},"body":{"$t":"raw","v":{"__proto__":{"polluted":true}}}}`)],
    ['another format version', valid.replace(`"f":${FORMAT_VERSION}`, `"f":${FORMAT_VERSION + 1}`)],
    ['format version as a string', valid.replace(`"f":${FORMAT_VERSION}`, `"f":"${FORMAT_VERSION}"`)],
    ['truncated in the middle', valid.slice(0, Math.floor(valid.length / 2))],
    ['truncated by one byte', valid.slice(0, -1)],
    ['random bytes', Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x80, 0x01, 0x7b, 0xc3])],
    ['JSON null', 'null'],
    ['a JSON array', `[${FORMAT_VERSION},"v"]`],
    ['an expiry that is not a number', valid.replace('"e":0', '"e":"never"')],
    ['data that is not an object', env('"a string"')],
    ['an unknown tag', env(`{${fields},"body":{"$t":"fn","v":"process.exit(1)"}}`)],
    ['a bigint tag carrying code', env(`{${fields},"body":{"$t":"big","v":"1; process.exit(1)"}}`)],
    ['nesting 1,000 levels deep', env(`{${fields},"body":${'['.repeat(1000)}${']'.repeat(1000)}}`)],
    ['nesting 200,000 levels deep', env(`{${fields},"body":${'['.repeat(200_000)}${']'.repeat(200_000)}}`)],
    ['a tombstone with no token', `{"f":${FORMAT_VERSION},"k":"t","e":0}`],
    ['a pointer with no target', `{"f":${FORMAT_VERSION},"k":"p","e":0}`],
  ];
}

/** Object.prototype's own property names now, to compare before and after. */
export function prototypeSnapshot(): string {
  return Object.getOwnPropertyNames(Object.prototype).sort().join(',');
}

/** Whether nothing was added to Object.prototype since `snapshot` (and no `polluted` shows through). */
export function prototypeUntouched(snapshot: string): boolean {
  return ({} as Record<string, unknown>).polluted === undefined && prototypeSnapshot() === snapshot;
}
