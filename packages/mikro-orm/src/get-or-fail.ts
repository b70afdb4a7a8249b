import type { FilterQuery } from '@mikro-orm/core';
import { getMetadata, UnknownKeyError, type Class, type KeyQuery, type Store } from '@stockpyle/core';
import { discoveredMetadata } from './entity-metadata';
import { EntityNotFoundError } from './errors';
import { keyQueriesOf } from './served-read';

/** A declared key of an entity as stockpyle writes it (`{ slug: 'x' }`) or as MikroORM does (a `FilterQuery`: a primary key value, an entity, `{ slug: { $eq: 'x' } }`). */
export type EntityKey<T extends object> = KeyQuery<T> | FilterQuery<T>;

/**
 * The key query a MikroORM `where` names, so code written for the ORM passes its conditions to a
 * store without a cast. Anything that is not exactly one declared key is an `UnknownKeyError`.
 */
export function keyOf<T extends object>(cls: Class<T>, where: EntityKey<T>): KeyQuery<T> {
  const meta = discoveredMetadata(cls);
  const keyed = meta === undefined ? undefined : keyQueriesOf(meta, where, false);
  if (keyed !== undefined) return keyed.queries[0] as KeyQuery<T>;
  if (where !== null && typeof where === 'object' && Object.getPrototypeOf(where) === Object.prototype) {
    getMetadata(cls).shapeFor(where);
    return where as KeyQuery<T>;
  }
  throw new UnknownKeyError(`${getMetadata(cls).name}: ${JSON.stringify(where)} is not one declared key; give exactly the attributes of one of them`);
}

/**
 * `store.get` that throws `EntityNotFoundError` (code `E_ENTITY_NOT_FOUND`) instead of returning
 * `undefined`, for reads where absence is an error (MikroORM's `findOneOrFail`).
 */
export async function getOrFail<T extends object>(store: Store, cls: Class<T>, where: EntityKey<T>): Promise<T> {
  const query = keyOf(cls, where);
  const found = await store.get(cls, query);
  if (found === undefined) throw EntityNotFoundError.forKey(getMetadata(cls).name, query);
  return found;
}
