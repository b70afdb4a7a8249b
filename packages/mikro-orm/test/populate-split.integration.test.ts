import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { wrap, type EntityManager as CoreEntityManager } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ChainedStore, ProcessMemoryStore, type CacheTier } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MemcacheStore } from '@stockpyle/memcache';
import { MikroOrmStore, stockpyleEntityManager, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { RedisStore } from '@stockpyle/redis';
import { serviceUrl } from '../../../test-support/test-environment';
import { BLOG, Label, Post, Remark, User } from './support/blog';
import { openOrm, type TestOrm } from './support/orm';

const prefix = `split-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

const tiers: [string, () => CacheTier][] = [
  ['ProcessMemoryStore', () => new ProcessMemoryStore()],
  ['RedisStore', () => new RedisStore({ url: serviceUrl('redis'), prefix })],
  ['MemcacheStore', () => new MemcacheStore({ servers: serviceUrl('memcached').split(','), prefix })],
];

/**
 * Finds the caches cannot answer (conditions, ordering, paging) go to the database without the
 * populate hints the caches answer (src/populate-split.ts); finds by an alternate key look in the
 * identity map first. Each answer is compared with the same find read entirely by MikroORM
 * (`refresh: true` is never split), in its own context.
 */
describe.each(tiers)('finds that go to the database, relations from the caches, over [%s, MikroOrmStore]', (tierName, makeTier) => {
  let db: TestOrm;
  let chain: ChainedStore;
  let tier: ReturnType<typeof CountingStore.wrap<CacheTier>>;
  let seq = Math.floor(Math.random() * 10_000) * 100;
  const next = (): number => (seq += 1);

  beforeAll(async () => {
    db = await openOrm(`split_${tierName.slice(0, 5).toLowerCase()}`, { extra: { entities: BLOG, entityManager: stockpyleEntityManager(EntityManager) } });
    tier = CountingStore.wrap(makeTier());
    chain = new ChainedStore([tier, new MikroOrmStore({ orm: db.orm })]);
    db.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
  });

  afterAll(async () => {
    await chain.release();
    await db.close();
  });

  beforeEach(() => db.log.reset());

  const fork = (): CoreEntityManager => db.orm.em.fork();

  /** An author with two posts, each with the tags `a…` and `b…`, the comments `first` and `second` and a reader's favorite; committed and read once (every entry cached). */
  async function seed(): Promise<{ author: User; posts: Post[]; labels: Label[] }> {
    const em = fork();
    const n = next();
    const author = em.create(User, { id: n, email: `a${n}@x`, name: `author${n}` });
    const reader = em.create(User, { id: n + 50_000_000, email: `r${n}@x`, name: `reader${n}` });
    const labels = ['a', 'b'].map((l, i) => em.create(Label, { id: n * 10 + i, name: `${l}${n}` }));
    const posts = [1, 2].map((i) => em.create(Post, { id: n * 10 + i, slug: `split-${n}-${i}`, title: `Post ${i}`, author }));
    for (const post of posts) {
      post.tags.add(labels);
      reader.favorites.add(post);
      ['first', 'second'].forEach((body, i) => em.create(Remark, { id: post.id * 10 + i, body, post, author: reader }));
    }
    await em.flush();
    const warm = fork();
    await warm.find(Post, { id: { $in: posts.map((p) => p.id) } }, { populate: ['author', 'tags', 'favoritedBy', 'comments'] });
    db.log.reset();
    return { author, posts, labels };
  }

  /** What MikroORM alone answers for the same find, in a context of its own, serialized. */
  async function fromDatabase(where: object, options: object): Promise<unknown[]> {
    const found = await fork().find(Post, where as never, { ...options, refresh: true } as never);
    return found.map((p) => wrap(p).toObject());
  }

  it('a list query with ordering and paging: the root rows from the database, every populated relation from the caches', async () => {
    const { author } = await seed();
    const where = { author: author.id, title: { $like: 'Post %' } };
    const options = { populate: ['author', 'tags', 'favoritedBy'], orderBy: { id: 'desc' }, limit: 5 } as const;
    const em = fork();
    tier.resetCounts();
    const found = await em.find(Post, where, options);
    expect(db.log.statements).toHaveLength(1);
    // The list query alone: no query of the tags or the favorites (the author is `eager`: MikroORM
    // adds it to the query whatever the hints, and 6 joins it into that one statement).
    expect(db.log.statements[0]).not.toMatch(/blog_post_label|blog_favorite/);
    expect(tier.calls()).toBeGreaterThan(0);
    expect(found.map((p) => [p.tags.isInitialized(), p.favoritedBy.isInitialized(), wrap(p.author).isInitialized()])).toEqual([
      [true, true, true],
      [true, true, true],
    ]);
    expect(found.map((p) => wrap(p).toObject())).toEqual(await fromDatabase(where, options));
  });

  it('findAndCount: the list query and its count, nothing else', async () => {
    const { author } = await seed();
    const [found, count] = await fork().findAndCount(Post, { author: author.id }, { populate: ['tags', 'favoritedBy'], orderBy: { id: 'asc' } });
    expect(count).toBe(2);
    expect(db.log.statements).toHaveLength(2);
    expect(found.map((p) => p.tags.getItems().map((t) => t.name).sort())).toEqual([
      [`a${author.id}`, `b${author.id}`],
      [`a${author.id}`, `b${author.id}`],
    ]);
  });

  it('a hint whose relation the condition names stays with the database: populateWhere infer narrows it as MikroORM does', async () => {
    const { author, labels } = await seed();
    const where = { author: author.id, tags: { name: labels[0]!.name } };
    const options = { populate: ['tags', 'favoritedBy'], populateWhere: 'infer', orderBy: { id: 'asc' } } as const;
    const found = await fork().find(Post, where, options);
    // Only the tag the condition names, not the cached collection of two.
    expect(found.map((p) => p.tags.getItems().map((t) => t.name))).toEqual([[labels[0]!.name], [labels[0]!.name]]);
    expect(found.map((p) => wrap(p).toObject())).toEqual(await fromDatabase(where, options));
  });

  it('populateOrderBy stays with the database: the items come in the order asked', async () => {
    const { author } = await seed();
    const where = { author: author.id };
    const options = { populate: ['comments'], populateOrderBy: { comments: { body: 'desc' } }, orderBy: { id: 'asc' } } as const;
    const found = await fork().find(Post, where, options);
    expect(found.map((p) => p.comments.getItems().map((c) => c.body))).toEqual([
      ['second', 'first'],
      ['second', 'first'],
    ]);
    // (Not compared with `fromDatabase`: MikroORM 6 does not apply populateOrderBy to a refresh.)
  });

  it('a collection the ordering names stays with the database', async () => {
    const { author } = await seed();
    const where = { author: author.id };
    const options = { populate: ['comments', 'tags'], orderBy: { id: 'asc', comments: { body: 'desc' } } } as const;
    const found = await fork().find(Post, where, options);
    expect(found.map((p) => p.comments.getItems().map((c) => c.body))).toEqual([
      ['second', 'first'],
      ['second', 'first'],
    ]);
    expect(found.map((p) => wrap(p).toObject())).toEqual(await fromDatabase(where, options));
  });

  it('a partial load (fields) is not split: MikroORM populates it', async () => {
    const { author } = await seed();
    const options = { populate: ['tags'], fields: ['id', 'title', 'tags.name'], orderBy: { id: 'asc' } } as const;
    tier.resetCounts();
    const found = await fork().find(Post, { author: author.id }, options);
    expect(tier.calls()).toBe(0);
    expect(found.map((p) => wrap(p).toObject())).toEqual(await fromDatabase({ author: author.id }, options));
  });

  it('a find by an alternate key is answered by the identity map when it holds the entity: created, then renamed, in this context', async () => {
    const em = fork();
    const n = next();
    const author = em.create(User, { id: n, email: `c${n}@x`, name: `creator${n}` });
    const post = em.create(Post, { id: n * 10, slug: `fresh-${n}`, title: 'Fresh', author });
    await em.flush();
    db.log.reset();
    tier.resetCounts();
    expect(await em.findOne(Post, { slug: `fresh-${n}` })).toBe(post);
    expect(await em.findOne(User, { email: `c${n}@x` })).toBe(author);
    expect(db.log.statements).toEqual([]);
    expect(tier.calls()).toBe(0);
    post.slug = `renamed-${n}`;
    await em.flush();
    db.log.reset();
    expect(await em.findOne(Post, { slug: `renamed-${n}` })).toBe(post);
    expect(db.log.selects).toEqual([]);
    expect(await em.findOne(Post, { slug: `fresh-${n}` })).toBeNull();
    // Another context sees the committed rename.
    expect((await fork().findOneOrFail(Post, { slug: `renamed-${n}` })).id).toBe(post.id);
    // A key changed and not flushed: the same answer as MikroORM's own findOne (an `orderBy` is never served).
    post.slug = `local-${n}`;
    const mikroOrms = await em.findOne(Post, { slug: `local-${n}` }, { orderBy: { id: 'asc' } });
    expect(await em.findOne(Post, { slug: `local-${n}` })).toBe(mikroOrms);
  });
});
