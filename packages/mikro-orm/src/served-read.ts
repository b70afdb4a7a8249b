import { helper, LockMode, Utils, type EntityMetadata } from '@mikro-orm/core';
import { getMetadata, isStockpyleClass, type Class, type KeyShape } from '@stockpyle/core';

type Row = Record<string, unknown>;

/**
 * Options of a find the caches can answer exactly as the database would. Anything else (locks,
 * partial loads, MikroORM's result cache, ordering or paging, a schema, conditions on populated
 * relations, options this package does not know) goes to the database untouched.
 */
const SERVED_OPTIONS = new Set([
  'populate',
  'strategy',
  'refresh',
  'filters',
  'failHandler',
  'connectionType',
  'logging',
  'flushMode',
  'convertCustomTypes',
  'disableIdentityMap',
  'populateWhere',
  'orderBy',
  'lockMode',
  'schema',
  'exclude',
  'fields',
  'populateFilter',
  'signal',
  'inflightQueryAbortStrategy',
  'visited',
  'ctx',
  'em',
  'where',
  'dataloader',
]);

/** `undefined`, `{}`, `[]`, or objects and arrays of nothing else: what `Collection.init` passes as `where` and `orderBy`. */
function isBlank(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.every(isBlank);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every(isBlank);
  return false;
}

/**
 * True when the options leave nothing the caches cannot answer (see `SERVED_OPTIONS`). A `schema`
 * is answered only when it is the one the ORM reads anyway (`schema` of the config or the entity),
 * as `wrap(ref).init()` passes.
 */
export function servedOptions(options: Row | undefined, defaultSchema?: string): boolean {
  if (options === undefined) return true;
  for (const name in options) {
    const value = options[name];
    if (value === undefined) continue;
    if (!SERVED_OPTIONS.has(name)) return false;
    switch (name) {
      case 'lockMode':
        // OPTIMISTIC makes MikroORM check `lockVersion` against the row: the database's business.
        if (value !== LockMode.NONE) return false;
        break;
      case 'populateWhere':
        if (value !== 'infer' && value !== 'all') return false;
        break;
      case 'orderBy':
      case 'where':
        if (!isBlank(value)) return false;
        break;
      case 'disableIdentityMap':
        // MikroORM then reads in a fork of its own, with `disableIdentityMap: false`: that read is served.
        if (value !== false) return false;
        break;
      case 'filters':
        // Turning a filter off could not be matched by the store's own reads, which apply the defaults.
        if (value === false || (typeof value === 'object' && value !== null && Object.values(value).some((v) => v === false))) return false;
        break;
      case 'schema':
        if (value !== defaultSchema) return false;
        break;
      case 'exclude':
      case 'fields':
      case 'populateFilter':
      case 'ctx':
        return false;
      default:
    }
  }
  return true;
}

/** Values a cache key is built from exactly: the database would answer a query by them alone. */
function isKeyValue(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint';
}

/**
 * The key queries a `where` names when it is exactly one declared key of a `@Stockpyle` entity:
 * a primary key value, an entity or reference of the class, `{ key: value }` (also `$eq`), or
 * `{ pk: { $in: [...] } }` (only when `many`). `undefined` for anything else.
 */
export function keyQueriesOf(meta: EntityMetadata, where: unknown, many: boolean): { shape: KeyShape; queries: Row[] } | undefined {
  if (!isStockpyleClass(meta.class)) return undefined;
  const info = getMetadata(meta.class as Class);
  const pk = meta.primaryKeys;
  if (isKeyValue(where) && pk.length === 1) return byShape(info.keys, { [pk[0]!]: where });
  if (where === null || typeof where !== 'object') return undefined;
  if (Utils.isEntity(where)) {
    const wrapped = helper(where);
    if (!(where instanceof meta.class)) return undefined;
    const value = wrapped.getPrimaryKey();
    return pk.length === 1 && isKeyValue(value) ? byShape(info.keys, { [pk[0]!]: value }) : undefined;
  }
  if (Object.getPrototypeOf(where) !== Object.prototype) return undefined;
  const attrs = Object.keys(where);
  if (attrs.length === 0) return undefined;
  const query: Row = {};
  let list: unknown[] | undefined;
  let listAttr: string | undefined;
  for (const attr of attrs) {
    let value = (where as Row)[attr];
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const ops = Object.keys(value);
      if (ops.length !== 1) return undefined;
      if (ops[0] === '$eq') value = (value as Row)['$eq'];
      else if (ops[0] === '$in' && many && attrs.length === 1 && Array.isArray((value as Row)['$in'])) {
        list = (value as Row)['$in'] as unknown[];
        listAttr = attr;
        continue;
      } else return undefined;
    }
    if (!isKeyValue(value)) return undefined;
    query[attr] = value;
  }
  if (list !== undefined) {
    if (list.length === 0 || !list.every(isKeyValue)) return undefined;
    const shape = info.keys.find((s) => s.attrs.length === 1 && s.attrs[0] === listAttr);
    return shape === undefined ? undefined : { shape, queries: list.map((v) => ({ [listAttr!]: v })) };
  }
  return byShape(info.keys, query);
}

function byShape(shapes: readonly KeyShape[], query: Row): { shape: KeyShape; queries: Row[] } | undefined {
  const id = Object.keys(query).sort().join(',');
  const shape = shapes.find((s) => s.id === id);
  return shape === undefined ? undefined : { shape, queries: [query] };
}
