import { helper, type EntityManager, type MetadataStorage, type EntityMetadata, type FilterQuery, type MikroORM } from '@mikro-orm/core';
import {
  BaseStore,
  classByName,
  ConfigurationError,
  getMetadata,
  KeyBuilder,
  metadataOf,
  NonUniqueKeyError,
  type AdoptingStore,
  type BaseStoreOptions,
  type Class,
  type KeyQuery,
  type KeyShape,
} from '@stockpyle/core';
import { assemble, contextEntityManager, readingDatabase } from './assemble';
import { CollectionEntry, parseCollectionKey } from './collection-entry';
import { copyEntity, entityToPlain } from './entity-serializer';
import { UnloadedEntityError } from './errors';
import './entity-metadata';

/** Options of `MikroOrmStore`: give `orm` or `em`, not both. */
export interface MikroOrmStoreOptions extends BaseStoreOptions {
  /** The ORM whose EntityManager is forked for every operation. */
  orm?: MikroORM;
  /** An EntityManager to fork for every operation; it is never used directly. */
  em?: EntityManager;
  /** Most key values sent in one query; a larger batch is split into several queries. @default 10000 */
  maxKeysPerQuery?: number;
}

type Row = Record<string, unknown>;

/**
 * The database as a stockpyle store: entities of one MikroORM instance are read, written and deleted
 * through a fresh fork of its EntityManager per operation. Objects that are not entities of that ORM
 * are ignored, so the store can sit at the bottom of a chain that also holds plain objects.
 */
export class MikroOrmStore extends BaseStore implements AdoptingStore {
  readonly #em: EntityManager;
  readonly #maxKeys: number;
  readonly #keys = new KeyBuilder();

  constructor(options: MikroOrmStoreOptions) {
    super(options);
    const { orm, em, maxKeysPerQuery = 10_000 } = options;
    if ((orm === undefined) === (em === undefined)) {
      throw new ConfigurationError('MikroOrmStore needs exactly one of { orm } or { em }');
    }
    const source = orm === undefined ? em : (orm as { em?: EntityManager }).em;
    if (source === null || typeof source !== 'object' || typeof source.fork !== 'function' || typeof source.getMetadata !== 'function') {
      throw new ConfigurationError(`MikroOrmStore: ${orm === undefined ? 'em is not an EntityManager' : 'orm is not a MikroORM instance'}`);
    }
    if (!Number.isInteger(maxKeysPerQuery) || maxKeysPerQuery < 1) {
      throw new ConfigurationError('MikroOrmStore: maxKeysPerQuery must be a positive integer');
    }
    this.#em = source;
    this.#maxKeys = maxKeysPerQuery;
  }

  /**
   * One query per key shape (`IN` for one column, row-value `IN` for several), none for an empty
   * batch. Results come back in the asked order, managed by a fork nobody else uses.
   */
  override async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    const meta = getMetadata(cls);
    const shapes = queries.map((q) => meta.shapeFor(q));
    if ((cls as Class) === CollectionEntry) return (await this.#collectionEntries(queries as readonly Row[])) as (T | undefined)[];
    const results: (T | undefined)[] = new Array(queries.length).fill(undefined);
    if (this.#entityMeta(cls) === undefined) return results;
    // Per key shape, the indexes of the queries asking for each key (a key asked twice is sent once).
    const groups = new Map<KeyShape, Map<string, number[]>>();
    for (let i = 0; i < queries.length; i++) {
      const shape = shapes[i]!;
      const key = this.#keys.build(meta, shape, queries[i]!);
      if (key === undefined) continue;
      let group = groups.get(shape);
      if (group === undefined) groups.set(shape, (group = new Map()));
      const indexes = group.get(key);
      if (indexes === undefined) group.set(key, [i]);
      else indexes.push(i);
    }
    if (groups.size === 0) return results;
    const fork = this.#em.fork();
    for (const [shape, byKey] of groups) {
      const asked: Row[] = [];
      for (const indexes of byKey.values()) asked.push(queries[indexes[0]!]! as Row);
      const found = new Map<string, object>();
      let repeated: Map<string, number> | undefined;
      for (const row of await this.#find(fork, cls, shape, asked)) {
        // The database may coerce ('1' finds 1) or fold case; only an exact match answers a query.
        const key = this.#keys.build(meta, shape, row);
        if (key === undefined || !byKey.has(key)) continue;
        if (!found.has(key)) found.set(key, row);
        else (repeated ??= new Map()).set(key, (repeated.get(key) ?? 1) + 1);
      }
      for (const [key, row] of found) {
        const indexes = byKey.get(key)!;
        const count = repeated?.get(key);
        if (count !== undefined) throw NonUniqueKeyError.forQuery(meta.name, queries[indexes[0]!]! as Row, count);
        for (const i of indexes) results[i] = row as T;
      }
    }
    return results;
  }

  /**
   * Collection entries read from the database: per declared collection, one query (joined) loading
   * the owners asked for with that collection (MikroORM applies the relation's own `where` and order;
   * no filters, so an entry is the whole collection). An owner that does not exist has no entry.
   */
  async #collectionEntries(queries: readonly Row[]): Promise<(CollectionEntry | undefined)[]> {
    const results: (CollectionEntry | undefined)[] = new Array(queries.length).fill(undefined);
    const metadata = this.#em.getMetadata();
    const groups = new Map<string, { owner: EntityMetadata; prop: string; asked: Map<string, number[]> }>();
    queries.forEach((q, i) => {
      const key = q['key'];
      if (typeof key !== 'string') return;
      const parsed = parseCollectionKey(key, (name) => findByStockpyleName(metadata, name));
      if (parsed === undefined || parsed.owner.compositePK) return;
      const id = `${parsed.owner.className}.${parsed.prop.name}`;
      let group = groups.get(id);
      if (group === undefined) groups.set(id, (group = { owner: parsed.owner, prop: parsed.prop.name, asked: new Map() }));
      group.asked.set(key, [...(group.asked.get(key) ?? []), i]);
    });
    const fork = this.#em.fork();
    for (const { owner, prop, asked } of groups.values()) {
      const pks = [...asked.keys()].map((k) => JSON.parse(k.slice(k.indexOf(':') + 1)) as unknown);
      const pk = owner.primaryKeys[0]!;
      for (let start = 0; start < pks.length; start += this.#maxKeys) {
        const where = { [pk]: { $in: pks.slice(start, start + this.#maxKeys) } };
        const found = await readingDatabase(() => fork.find(owner.class, where as FilterQuery<object>, { populate: [prop] as never, filters: false, strategy: 'joined' as never }));
        for (const o of found) {
          const key = `${getMetadata(owner.class as Class).name}.${prop}:${JSON.stringify(helper(o).getPrimaryKey())}`;
          const members = ((o as Row)[prop] as { getItems(): object[] }).getItems().map((m) => helper(m).getPrimaryKey());
          for (const i of asked.get(key) ?? []) results[i] = new CollectionEntry(key, members);
        }
      }
    }
    return results;
  }

  async #find(fork: EntityManager, cls: Class, shape: KeyShape, queries: readonly Row[]): Promise<object[]> {
    const attrs = shape.attrs;
    const perQuery = Math.max(1, Math.floor(this.#maxKeys / attrs.length));
    const rows: object[] = [];
    for (let start = 0; start < queries.length; start += perQuery) {
      const chunk = queries.slice(start, start + perQuery);
      // `a~~~b` is MikroORM's own notation for a tuple of columns: `(a, b) in ((?, ?), …)`. Chunks
      // are never empty (and `$or` is never used: MikroORM reads `{ $or: [] }` as "every row").
      const where =
        attrs.length === 1
          ? { [attrs[0]!]: { $in: chunk.map((q) => q[attrs[0]!]) } }
          : { [attrs.join('~~~')]: { $in: chunk.map((q) => attrs.map((a) => q[a])) } };
      rows.push(...(await readingDatabase(() => fork.find(cls, where as FilterQuery<object>))));
    }
    return rows;
  }

  /**
   * Inserts or updates: one query finds which rows exist, then one flush makes each row equal to
   * its object (diffed against the row as stored, so only changed columns are written). Generated
   * values (ids, versions, defaults) are set on the objects, which stay managed by that fork.
   */
  override async batchPut(objs: readonly object[]): Promise<void> {
    const entities = this.#entities(objs);
    if (entities.length === 0) return;
    for (const [entity, meta] of entities) {
      if (!helper(entity).__initialized) throw UnloadedEntityError.forEntity(meta.className);
    }
    const stored = await this.#storedRows(entities);
    const fork = this.#em.fork();
    for (const [entity] of entities) {
      const wrapped = helper(entity);
      const row = stored.get(entity);
      wrapped.__em = fork;
      if (row === undefined) {
        // Not in the database (new, or deleted since it was read): insert it.
        delete wrapped.__originalEntityData;
        wrapped.__managed = false;
      } else {
        fork.getUnitOfWork().register(entity, { ...row }, { refresh: true });
      }
      fork.persist(entity);
    }
    await fork.flush();
  }

  /** The stored snapshot of each object's row, by primary key, in one query per entity hierarchy. */
  async #storedRows(entities: readonly (readonly [object, EntityMetadata])[]): Promise<Map<object, Row>> {
    const byRoot = new Map<EntityMetadata, object[]>();
    for (const [entity, meta] of entities) {
      if (!helper(entity).hasPrimaryKey()) continue;
      byRoot.set(meta.root, [...(byRoot.get(meta.root) ?? []), entity]);
    }
    const out = new Map<object, Row>();
    if (byRoot.size === 0) return out;
    const lookup = this.#em.fork();
    for (const [root, group] of byRoot) {
      const rows = new Map<string, Row>();
      for (let start = 0; start < group.length; start += this.#maxKeys) {
        const chunk = group.slice(start, start + this.#maxKeys);
        const where = root.compositePK
          ? { $or: chunk.map((e) => Object.fromEntries(root.primaryKeys.map((pk) => [pk, (e as Row)[pk]]))) }
          : { [root.primaryKeys[0]!]: { $in: chunk.map((e) => helper(e).getPrimaryKey()) } };
        for (const found of await readingDatabase(() => lookup.find(root.class, where as FilterQuery<object>))) {
          const data = helper(found).__originalEntityData;
          if (data !== undefined) rows.set(helper(found).getSerializedPrimaryKey(), data as Row);
        }
      }
      for (const e of group) {
        const row = rows.get(helper(e).getSerializedPrimaryKey());
        if (row !== undefined) out.set(e, row);
      }
    }
    return out;
  }

  /**
   * Deletes by primary key in one flush. It works on copies, so the objects given (perhaps managed
   * by the application's own EntityManager) keep their state and are never re-inserted by it.
   */
  override async batchDelete(objs: readonly object[]): Promise<void> {
    const entities = this.#entities(objs).filter(([e]) => helper(e).hasPrimaryKey());
    if (entities.length === 0) return;
    const fork = this.#em.fork();
    for (const [entity, meta] of entities) {
      fork.remove(fork.merge(meta.class, entityToPlain(entity, meta), { validate: false, cascade: false }));
    }
    await fork.flush();
  }

  /**
   * Attaches entities that a chain read from a cache tier to a fresh fork, as if just loaded: no
   * query, and their current state becomes the snapshot, so nothing is written on the next flush.
   * Each is a copy holding what an out-of-process tier holds (an in-process tier keeps the very
   * object it was given), so a caller never changes the cached instance.
   */
  adopt(objs: readonly object[]): object[] {
    const context = contextEntityManager(this.#em);
    let fork: EntityManager | undefined;
    return objs.map((obj) => {
      const meta = this.#entityMeta(obj.constructor);
      if (meta === undefined) return obj;
      // In a request context (or a read through the ORM), into that EntityManager as a database row would be.
      if (context !== undefined) return assemble(context, meta, obj);
      fork ??= this.#em.fork();
      return fork.merge(copyEntity(obj, meta), { validate: false });
    });
  }

  /** The ORM was given, not opened here: nothing to close. */
  release(): Promise<void> {
    return Promise.resolve();
  }

  /** The ORM whose entities this store reads: the EntityManager it forks. */
  get entityManager(): EntityManager {
    return this.#em;
  }

  /** The MikroORM metadata of an entity class of this store's ORM, or `undefined` for anything else. */
  #entityMeta(cls: unknown): EntityMetadata | undefined {
    if (typeof cls !== 'function') return undefined;
    const meta = this.#em.getMetadata().find(cls as Class);
    return meta !== undefined && meta.class === cls && !meta.embeddable && !meta.virtual ? meta : undefined;
  }

  /** The entities among `objs` with their metadata; an entity class must also be a stockpyle class. */
  #entities(objs: readonly object[]): (readonly [object, EntityMetadata])[] {
    const out: (readonly [object, EntityMetadata])[] = [];
    for (const obj of objs) {
      const meta = obj === null || typeof obj !== 'object' ? undefined : this.#entityMeta(obj.constructor);
      if (meta === undefined) continue;
      metadataOf(obj);
      out.push([obj, meta]);
    }
    return out;
  }
}

/** The entity class registered under a stockpyle name, among this ORM's entities. */
function findByStockpyleName(metadata: MetadataStorage, name: string): EntityMetadata | undefined {
  const cls = classByName(name);
  if (cls === undefined) return undefined;
  const meta = metadata.find(cls as never) as EntityMetadata | undefined;
  return meta !== undefined && meta.class === cls ? meta : undefined;
}
