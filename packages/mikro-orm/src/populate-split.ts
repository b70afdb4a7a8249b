import { LockMode, ReferenceKind, type EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import { getMetadata, isStockpyleClass, type Class } from '@stockpyle/core';
import { declaredCollections } from './collection-entry';

type Row = Record<string, unknown>;

/**
 * A find the caches cannot answer (any condition, ordering, paging) still goes to the database, but
 * the relations it populates need not: `split` says which populate hints the database query keeps
 * and which the caches answer after it (`walk` in stockpyle-entity-manager.ts), as they do for a
 * served read. The list endpoints of an application (`em.findAndCount(Article, where, { populate:
 * ['author', 'tags'] })`) then cost the root query alone when the relations are cached.
 */
export interface PopulateSplit {
  /** Populate hints (MikroORM's strings) the database query keeps. */
  readonly database: string[];
  /** Populate hints the caches answer once the query has returned. */
  readonly cached: string[];
}

/**
 * Options under which the populated relations are exactly what the caches hold: anything that
 * narrows, orders, locks, refreshes or caches what is populated (partial loads, `populateWhere` on a
 * condition on the relation, `populateOrderBy`, `populateFilter`, a lock, `refresh`, MikroORM's
 * result cache, a fork without identity map) leaves every hint to the database.
 */
const NOT_SPLIT = ['fields', 'exclude', 'populateOrderBy', 'populateFilter', 'refresh', 'cache', 'disableIdentityMap'];

/** Whether `value` (a `where` or an `orderBy`, as given) names `field` at its top level or under `$and`/`$or`/`$not`. */
function mentions(value: unknown, field: string): boolean {
  if (Array.isArray(value)) return value.some((v) => mentions(v, field));
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key of Object.keys(value)) {
    if (key === field) return true;
    if ((key === '$and' || key === '$or' || key === '$not') && mentions((value as Row)[key], field)) return true;
  }
  return false;
}

/** A relation `walk` answers from the caches: to-one to a `@Stockpyle` entity keyed first by its primary key, or a declared collection. */
export function cachedRelation(meta: EntityMetadata, prop: EntityProperty | undefined): boolean {
  const target = prop?.targetMeta;
  if (prop === undefined || target === undefined) return false;
  if (prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner === true)) {
    if (!isStockpyleClass(target.class) || target.primaryKeys.length !== 1 || prop.targetKey !== undefined) return false;
    return getMetadata(target.class as Class).keys[0]!.id === target.primaryKeys[0];
  }
  if (prop.kind === ReferenceKind.ONE_TO_MANY || prop.kind === ReferenceKind.MANY_TO_MANY) {
    return declaredCollections(meta).includes(prop.name) && !meta.compositePK && !target.compositePK;
  }
  return false;
}

/**
 * The split of a find's populate hints, or `undefined` when nothing goes to the caches (no hint
 * they answer, options that shape what is populated, hints that are not plain strings, `*`).
 * A collection's hint stays with the database when `where` or `orderBy` names it: MikroORM may then
 * narrow (`populateWhere: 'infer'`) or order the populated items by that condition.
 */
export function splitPopulate(meta: EntityMetadata, where: unknown, options: Row | undefined): PopulateSplit | undefined {
  const populate = options?.populate;
  if (!Array.isArray(populate) || populate.length === 0 || !populate.every((p) => typeof p === 'string')) return undefined;
  if (NOT_SPLIT.some((name) => options![name] !== undefined && options![name] !== false)) return undefined;
  if (options!.lockMode !== undefined && options!.lockMode !== LockMode.NONE) return undefined;
  const database: string[] = [];
  const cached: string[] = [];
  for (const hint of populate as string[]) {
    const field = hint.split('.')[0]!;
    if (field === '*' || field.startsWith('$')) return undefined;
    const prop = meta.properties[field as never] as EntityProperty | undefined;
    // A to-one target is one entity whatever the condition; a collection may be narrowed or ordered by it.
    const toMany = prop?.kind === ReferenceKind.ONE_TO_MANY || prop?.kind === ReferenceKind.MANY_TO_MANY;
    const answered = !field.includes(':') && cachedRelation(meta, prop) && !(toMany && (mentions(where, field) || mentions(options!.orderBy, field)));
    (answered ? cached : database).push(hint);
  }
  return cached.length === 0 ? undefined : { database, cached };
}
