import { Utils, type EntityManager, type EntityMetadata, type PopulateOptions } from '@mikro-orm/core';

/** MikroORM 6 names entities by class name in these methods, 7 by class. */
const BY_CLASS = Number(Utils.getORMVersion().split('.')[0]) >= 7;

/** How these methods (and `UnitOfWork.getById`) name an entity on the installed major. */
export function entityName(meta: EntityMetadata): unknown {
  return BY_CLASS ? meta.class : meta.className;
}

/**
 * The three EntityManager methods the second-level cache needs that MikroORM marks internal. Both
 * exist with these signatures in 6.6 and 7 (TypeScript-private in 6, `@internal` in 7); the test
 * `orm-internals.integration.test.ts` fails when either moves or changes what it returns.
 */
interface Internals {
  applyFilters(entityName: unknown, where: object, filters: unknown, type: 'read', findOptions?: object): Promise<object>;
  tryFlush(entityName: unknown, options: object): Promise<void>;
  preparePopulate(entityName: unknown, options: { populate?: unknown; filters?: unknown }, validate?: boolean): Promise<PopulateOptions<object>[]>;
}

/**
 * True when a filter (global, of this EntityManager, or of the entity) applies to a read of this
 * class with these `filters` options: a filtered read is not a bare key, so the caches do not answer
 * it. A filter that cannot even be evaluated (missing arguments) counts as applying.
 */
export async function filtersApply(em: EntityManager, meta: EntityMetadata, filters: unknown, findOptions: object): Promise<boolean> {
  const where = {};
  try {
    return (await (em as unknown as Internals).applyFilters(entityName(meta), where, filters, 'read', findOptions)) !== where;
  } catch {
    return true;
  }
}

/** The populate hints a find would follow, normalized, with the entity's `eager` relations added. */
export function preparedPopulate(em: EntityManager, meta: EntityMetadata, populate: unknown, filters: unknown): Promise<PopulateOptions<object>[]> {
  return (em as unknown as Internals).preparePopulate(entityName(meta), { populate, filters });
}

/** What MikroORM does before any read (`FlushMode.AUTO`): flush pending changes to this entity's table first. */
export function flushBeforeRead(em: EntityManager, meta: EntityMetadata, options: object): Promise<void> {
  return (em as unknown as Internals).tryFlush(entityName(meta), options);
}
