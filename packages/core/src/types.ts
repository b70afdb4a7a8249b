/** Any class, abstract or not, whose instances are `T`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Class<T extends object = object> = abstract new (...args: any[]) => T;

/** The JavaScript values a key attribute may hold; `null`/`undefined` mean "not indexed". */
export type KeyValue = string | number | bigint | boolean | Date;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DataKeys<T> = { [K in keyof T]-?: T[K] extends (...args: any[]) => any ? never : K }[keyof T] & string;

/**
 * A lookup by one declared key: `{ id: 1 }` or `{ zap: 2, bar: 'x' }`. Only data attributes of `T`
 * are allowed, so a misspelt attribute is a compile error; which attribute sets are declared keys is
 * checked at run time (`UnknownKeyError`).
 */
export type KeyQuery<T> = { readonly [K in DataKeys<T>]?: T[K] };

/** A span of time; the fields add up. */
export interface Duration {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

/** How long an object may stay in a cache: seconds from now, an absolute `Date`, or a duration. */
export type Lifetime = number | Date | Duration;

/** Chooses each object's lifetime; `undefined` means "until evicted". */
export type LifetimeFn = (obj: object) => Lifetime | undefined;
