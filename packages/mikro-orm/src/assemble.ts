import { AsyncLocalStorage } from 'node:async_hooks';
import { helper, RequestContext, type EntityManager, type EntityMetadata } from '@mikro-orm/core';
import { cloneRow, entityToPlain } from './entity-serializer';
import { entityName } from './orm-internals';

type Row = Record<string, unknown>;

/** The EntityManager a read through the ORM assembles its hits into, while the chain runs. */
const reading = new AsyncLocalStorage<EntityManager>();

/** Set while `MikroOrmStore` itself reads the database: its forks' finds must not be served by the chain it sits under. */
const direct = new AsyncLocalStorage<boolean>();

/** Runs `fn` (a `MikroOrmStore` read) so that no `stockpyleEntityManager` answers its finds from the caches. */
export function readingDatabase<T>(fn: () => Promise<T>): Promise<T> {
  return direct.run(true, fn);
}

/** True inside `readingDatabase`. */
export function isReadingDatabase(): boolean {
  return direct.getStore() === true;
}

/**
 * Runs `fn` with `em` as the EntityManager that stores assemble entities into (see
 * `contextEntityManager`); public as `withEntityManager(em, () => store.get(…))`.
 */
export function assemblingInto<T>(em: EntityManager, fn: () => T): T {
  return direct.run(false, () => reading.run(em, fn));
}

/**
 * The EntityManager a hit belongs in: the one a read through the ORM is running for, else the
 * request context's (`RequestContext`), provided it is of the same ORM as `em`; else `undefined`.
 */
export function contextEntityManager(em: EntityManager): EntityManager | undefined {
  const ctx = reading.getStore() ?? RequestContext.getEntityManager();
  if (ctx === undefined || ctx === null) return undefined;
  return ctx.getMetadata() === em.getMetadata() ? ctx : undefined;
}

/**
 * Hydrates an entity's row (own columns, to-one keys: what a cache tier holds) into `em` the way
 * MikroORM hydrates a database row: the identity map first (a loaded instance there is the answer,
 * as for MikroORM's find by primary key; a reference there is filled in), managed and not dirty. `obj` itself is never attached or changed.
 */
export function assemble(em: EntityManager, meta: EntityMetadata, obj: object): object {
  const wrapped = helper(obj);
  if (wrapped.__em === em && wrapped.__managed) return obj;
  // The identity map first, as MikroORM's find by primary key: a loaded instance is the answer as it is.
  const pk = wrapped.getPrimaryKey();
  const held = pk === null || pk === undefined ? undefined : (em.getUnitOfWork().getById(entityName(meta) as never, pk as never) as object | undefined);
  if (held !== undefined && helper(held).__initialized) return held;
  const data = cloneRow(entityToPlain(obj, meta)) as Row;
  const cls = (obj.constructor as { prototype?: { __meta?: EntityMetadata } }).prototype?.__meta?.class ?? meta.class;
  return em.getEntityFactory().create(cls as never, data as never, { merge: true, refresh: false, newEntity: false, initialized: true, convertCustomTypes: false }) as object;
}
