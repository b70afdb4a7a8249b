import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EntityManager } from '@mikro-orm/postgresql';
import { CollectionDeclarationError } from '@stockpyle/mikro-orm';
import { Collection } from '@mikro-orm/core';
import { Entity, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Stockpyle } from '@stockpyle/core';
import { declaredCollections } from '../src/collection-entry';
import { filtersApply, flushBeforeRead, preparedPopulate } from '../src/orm-internals';
import { BLOG, Post, User } from './support/blog';
import { openOrm, type TestOrm } from './support/orm';

@Entity({ tableName: 'oi_thing' })
@Stockpyle({ name: 'oi.Thing', collections: ['title', 'parts'] })
class Thing {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Property({ type: 'string' }) title!: string;
  @OneToMany({ entity: () => Part, mappedBy: 'thing' }) parts = new Collection<Part>(this);
}

/** Not a stockpyle class: a collection of these cannot be cached as member keys. */
@Entity({ tableName: 'oi_part' })
class Part {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @ManyToOne({ entity: () => Thing }) thing!: Thing;
}

/**
 * The EntityManager methods MikroORM marks internal that the second-level cache relies on
 * (`orm-internals.ts`): this fails when one of them moves or changes what it returns.
 */
describe('orm-internals', () => {
  let db: TestOrm;

  beforeAll(async () => {
    db = await openOrm('oi', {
      extra: { entities: [...BLOG, Thing, Part], entityManager: EntityManager, filters: { titled: { cond: { title: { $ne: '' } }, default: false, entity: ['Post'] } } },
    });
  });

  afterAll(() => db.close());

  const meta = (cls: Function) => db.orm.getMetadata().find(cls.name as never)!;

  it('filtersApply() is false with no active filter, true when one is turned on or cannot be evaluated', async () => {
    const em = db.orm.em.fork();
    expect(await filtersApply(em, meta(Post), undefined, {})).toBe(false);
    expect(await filtersApply(em, meta(Post), { titled: true }, {})).toBe(true);
    expect(await filtersApply(em, meta(User), { titled: true }, {})).toBe(false);
    em.addFilter({ name: 'needsArgs', cond: (args: { x: string }) => ({ title: args.x }), entity: ['Post'] } as never);
    expect(await filtersApply(em, meta(Post), undefined, {})).toBe(true);
  });

  it('preparedPopulate() returns normalized hints with eager relations added', async () => {
    const em = db.orm.em.fork();
    const hints = await preparedPopulate(em, meta(Post), ['comments.author'], undefined);
    const fields = hints.map((h) => String(h.field).split(':')[0]).sort();
    expect(fields).toEqual(['author', 'comments']);
    expect(hints.find((h) => String(h.field) === 'comments')!.children!.map((c) => String(c.field))).toEqual(['author']);
    expect((await preparedPopulate(em, meta(Post), false, undefined)).length).toBe(0);
  });

  it('flushBeforeRead() flushes pending changes of the entity read (FlushMode.AUTO), as a find would', async () => {
    const em = db.orm.em.fork();
    em.create(User, { id: 99_000_001, email: 'oi@x', name: 'oi' });
    db.log.reset();
    await flushBeforeRead(em, meta(User), {});
    expect(db.log.queries.some((q) => /^insert into .*blog_user/.test(q))).toBe(true);
  });

  it('declaredCollections() refuses what is not a collection of stockpyle members', () => {
    expect(() => declaredCollections(meta(Thing))).toThrow(CollectionDeclarationError);
    expect(() => declaredCollections(meta(Thing))).toThrow(/Thing.title .* not a @OneToMany or @ManyToMany/);
    expect(declaredCollections(meta(Post))).toEqual(['comments', 'tags', 'favoritedBy']);
  });
});
