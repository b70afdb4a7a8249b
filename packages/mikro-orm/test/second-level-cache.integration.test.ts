import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { LockMode, RequestContext, wrap, type EntityManager as CoreEntityManager } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ChainedStore, ProcessMemoryStore, type CacheTier } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MemcacheStore } from '@stockpyle/memcache';
import { EntityNotFoundError, getOrFail, keyOf, MikroOrmStore, stockpyleEntityManager, StockpyleSubscriber, withEntityManager } from '@stockpyle/mikro-orm';
import { RedisStore } from '@stockpyle/redis';
import { serviceUrl } from '../../../test-support/test-environment';
import { BLOG, Label, Post, Remark, User } from './support/blog';
import { openOrm, type TestOrm } from './support/orm';

const prefix = `slc-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/** One chain per cache tier, each over the same database, so every test runs against each tier alone. */
const tiers: [string, () => CacheTier][] = [
  ['ProcessMemoryStore', () => new ProcessMemoryStore()],
  ['RedisStore', () => new RedisStore({ url: serviceUrl('redis'), prefix })],
  ['MemcacheStore', () => new MemcacheStore({ servers: serviceUrl('memcached').split(','), prefix })],
];

describe.each(tiers)('stockpyleEntityManager over [%s, MikroOrmStore]', (tierName, makeTier) => {
  let db: TestOrm;
  let chain: ChainedStore;
  let tier: ReturnType<typeof CountingStore.wrap<CacheTier>>;
  let seq = Math.floor(Math.random() * 1_000_000) * 100;
  const next = (): number => (seq += 1);

  beforeAll(async () => {
    db = await openOrm(`slc_${tierName.slice(0, 5).toLowerCase()}`, {
      extra: {
        entities: BLOG,
        entityManager: stockpyleEntityManager(EntityManager),
        filters: { titled: { cond: { title: { $ne: '' } }, default: false, entity: ['Post'] } },
      },
    });
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

  /** An author with one post (two comments, one tag, favorited by a reader), committed. */
  async function seed(): Promise<{ author: User; reader: User; post: Post; label: Label; remarks: Remark[] }> {
    const em = fork();
    const n = next();
    const author = em.create(User, { id: n, email: `a${n}@x`, name: `author${n}`, bio: 'old bio' });
    const reader = em.create(User, { id: n + 50_000_000, email: `r${n}@x`, name: `reader${n}` });
    const label = em.create(Label, { id: n, name: `label${n}` });
    const post = em.create(Post, { id: n, slug: `post-${n}`, title: `Post ${n}`, author });
    post.tags.add(label);
    reader.favorites.add(post);
    const remarks = [1, 2].map((i) => em.create(Remark, { id: n * 10 + i, body: `remark ${i}`, post, author: reader }));
    await em.flush();
    db.log.reset();
    return { author, reader, post, label, remarks };
  }

  /** Reads the post and its relations once, so that every entry they touch is cached. */
  async function warm(slug: string): Promise<void> {
    const em = fork();
    const post = await em.findOneOrFail(Post, { slug }, { populate: ['comments', 'tags', 'favoritedBy'] });
    await em.populate(post.author, ['articles', 'favorites']);
    await em.populate(post.favoritedBy.getItems(), ['favorites']);
    await em.populate(post.tags.getItems(), ['posts']);
    db.log.reset();
  }

  describe('findOne()', () => {
    it('returns one instance for the same key twice in one context, with no SQL on a warm cache', async () => {
      const { post } = await seed();
      await warm(post.slug);
      const em = fork();
      const bySlug = await em.findOne(Post, { slug: post.slug });
      const byId = await em.findOne(Post, post.id);
      expect(bySlug).not.toBeNull();
      expect(byId).toBe(bySlug);
      expect(await em.findOneOrFail(Post, { slug: post.slug })).toBe(bySlug);
      expect(await em.getRepository(Post).findOne({ slug: post.slug })).toBe(bySlug);
      expect(bySlug!.title).toBe(post.title);
      expect(db.log.statements).toEqual([]);
      // The second find by the alternate key is the identity map's: the tier is not asked again.
      tier.resetCounts();
      expect(await em.findOne(Post, { slug: post.slug })).toBe(bySlug);
      expect(tier.calls()).toBe(0);
    });

    it('returns entities managed by the asking EntityManager, not dirty: flushing writes nothing', async () => {
      const { post } = await seed();
      await warm(post.slug);
      const em = fork();
      const found = await em.findOneOrFail(Post, { slug: post.slug });
      expect(em.getUnitOfWork().getIdentityMap().values()).toContain(found);
      expect(wrap(found, true).__em).toBe(em);
      await em.flush();
      expect(db.log.statements).toEqual([]);
    });

    it('loads eager relations on a hit, from the caches', async () => {
      const { post, author } = await seed();
      await warm(post.slug);
      const em = fork();
      const found = await em.findOneOrFail(Post, { slug: post.slug });
      expect(wrap(found.author).isInitialized()).toBe(true);
      expect(found.author.name).toBe(author.name);
      expect(wrap(found).toObject().author).toMatchObject({ id: author.id, name: author.name, bio: 'old bio' });
      expect(db.log.statements).toEqual([]);
    });

    it('serves populate of declared collections and their members, batched, with no SQL on a warm cache', async () => {
      const { post, remarks, label, reader } = await seed();
      await warm(post.slug);
      const em = fork();
      const found = await em.findOneOrFail(Post, post.id, { populate: ['comments', 'tags', 'favoritedBy'] });
      expect(found.comments.isInitialized()).toBe(true);
      expect(found.comments.getItems().map((r) => r.id).sort()).toEqual(remarks.map((r) => r.id).sort());
      expect(found.tags.getItems().map((t) => t.name)).toEqual([label.name]);
      expect(found.favoritedBy.getItems().map((u) => u.id)).toEqual([reader.id]);
      expect(found.comments.getItems()[0]!.post).toBe(found);
      expect(db.log.statements).toEqual([]);
    });

    it('makes collection.contains() true for an entity read from the cache', async () => {
      const { post, reader } = await seed();
      await warm(post.slug);
      const em = fork();
      const viewer = await em.findOneOrFail(User, { name: reader.name }, { populate: ['favorites'] });
      const article = await em.findOneOrFail(Post, { slug: post.slug });
      expect(viewer.favorites.contains(article)).toBe(true);
      expect(db.log.statements).toEqual([]);
    });

    it('loads a declared collection lazily (init) and a reference (load) from the caches', async () => {
      const { post, author, remarks } = await seed();
      await warm(post.slug);
      const em = fork();
      const found = await em.findOneOrFail(Post, post.id);
      expect(found.comments.isInitialized()).toBe(false);
      await found.comments.init();
      expect(found.comments.count()).toBe(remarks.length);
      const ref = em.getReference(User, author.id);
      em.clear();
      const em2 = fork();
      const user = await em2.getReference(User, author.id, { wrapped: true }).load();
      expect(user!.name).toBe(author.name);
      expect(ref).not.toBe(user);
      expect(db.log.statements).toEqual([]);
    });

    it('leaves undeclared collections not loaded on a hit, as without the cache', async () => {
      const { post } = await seed();
      await warm(post.slug);
      const em = fork();
      const found = await em.findOneOrFail(Post, post.id);
      expect(found.author.remarks.isInitialized()).toBe(false);
      expect(db.log.statements).toEqual([]);
    });

    it('issues exactly one UPDATE when a cached entity is changed and flushed', async () => {
      const { post } = await seed();
      await warm(post.slug);
      const em = fork();
      const found = await em.findOneOrFail(Post, { slug: post.slug });
      found.title = 'changed';
      await em.flush();
      expect(db.log.queries).toHaveLength(1);
      expect(db.log.queries[0]).toMatch(/^update "?[\w.]*"?\.?"?blog_post"? set "title" = /);
      const again = await fork().findOneOrFail(Post, { slug: post.slug });
      expect(again.title).toBe('changed');
    });

    it('keeps local unflushed changes when the same entity is read again', async () => {
      const { post } = await seed();
      await warm(post.slug);
      const em = fork();
      const found = await em.findOneOrFail(Post, post.id);
      found.title = 'local';
      const again = await em.findOne(Post, { slug: post.slug }, { flushMode: 'commit' as never });
      expect(again).toBe(found);
      expect(again!.title).toBe('local');
    });

    it('never shares an instance, related ones included, between EntityManagers', async () => {
      const { post } = await seed();
      await warm(post.slug);
      const a = await fork().findOneOrFail(Post, post.id);
      const b = await fork().findOneOrFail(Post, post.id);
      expect(a).not.toBe(b);
      expect(a.author).not.toBe(b.author);
      a.author.bio = 'changed in a';
      expect(b.author.bio).toBe('old bio');
    });

    it('never shows a related entity changed and committed as it was, through a cached parent', async () => {
      const { post, author } = await seed();
      await warm(post.slug);
      const writer = fork();
      const mine = await writer.findOneOrFail(User, author.id);
      mine.bio = 'new bio';
      await writer.flush();
      const em = fork();
      const found = await em.findOneOrFail(Post, { slug: post.slug });
      expect(found.author.bio).toBe('new bio');
      expect(wrap(found).toObject().author).toMatchObject({ bio: 'new bio' });
    });

    it('answers absent keys with null, and findOneOrFail throws MikroORM’s NotFoundError', async () => {
      const em = fork();
      expect(await em.findOne(Post, { slug: `none-${next()}` })).toBeNull();
      await expect(em.findOneOrFail(Post, { slug: `none-${next()}` })).rejects.toThrow(/not found/i);
    });
  });

  it('serves disableIdentityMap into a fork of its own, as MikroORM reads it: not in the asking identity map', async () => {
    const { post } = await seed();
    await warm(post.slug);
    const em = fork();
    const found = await em.findOneOrFail(Post, { slug: post.slug }, { disableIdentityMap: true });
    expect(found.title).toBe(post.title);
    expect(em.getUnitOfWork().getIdentityMap().values()).not.toContain(found);
    expect(db.log.statements).toEqual([]);
  });

  describe('find()', () => {
    it('serves { id: { $in } } with populate from the caches', async () => {
      const a = await seed();
      const b = await seed();
      await warm(a.post.slug);
      await warm(b.post.slug);
      const em = fork();
      const found = await em.find(Post, { id: { $in: [b.post.id, a.post.id] } }, { populate: ['comments'] });
      expect(found.map((p) => p.id)).toEqual([b.post.id, a.post.id]);
      expect(found.every((p) => p.comments.isInitialized() && p.comments.count() === 2)).toBe(true);
      expect(db.log.statements).toEqual([]);
    });

    it('loads each relation of a batch in one round trip to the tier, however many roots', async () => {
      const seeded = [await seed(), await seed(), await seed()];
      for (const s of seeded) await warm(s.post.slug);
      tier.resetCounts();
      const em = fork();
      const found = await em.find(Post, { id: { $in: seeded.map((s) => s.post.id) } }, { populate: ['comments', 'tags'] });
      expect(found.flatMap((p) => p.comments.getItems())).toHaveLength(6);
      // The posts, their eager authors, the comments' and the tags' entries, the comments, the tags: one lookup each.
      expect(tier.counts.lookup).toBe(6);
      expect(db.log.statements).toEqual([]);
    });
  });

  describe('reads that go to the database untouched', () => {
    const cases: [string, (em: CoreEntityManager, post: Post) => Promise<unknown>][] = [
      ['another condition', (em, post) => em.findOne(Post, { title: post.title })],
      ['a key plus a condition', (em, post) => em.findOne(Post, { slug: post.slug, title: post.title })],
      ['an operator other than $eq', (em, post) => em.findOne(Post, { slug: { $like: post.slug } })],
      ['a partial load (fields)', (em, post) => em.findOne(Post, { slug: post.slug }, { fields: ['title'] })],
      ['a partial load (exclude)', (em, post) => em.findOne(Post, { slug: post.slug }, { exclude: ['title'] })],
      ['a filter that applies', (em, post) => em.findOne(Post, { slug: post.slug }, { filters: { titled: true } })],
      ['a pessimistic lock', (em, post) => em.transactional((t) => t.findOne(Post, { slug: post.slug }, { lockMode: LockMode.PESSIMISTIC_READ }))],
      ['a refresh of a loaded entity', async (em, post) => {
        await em.findOne(Post, post.id);
        db.log.reset();
        return em.findOne(Post, post.id, { refresh: true });
      }],
      ['the result cache', (em, post) => em.findOne(Post, { slug: post.slug }, { cache: 1000 })],
      ['a find with a limit', (em, post) => em.find(Post, { id: { $in: [post.id] } }, { limit: 1 })],
      ['a find with an order', (em, post) => em.find(Post, { id: { $in: [post.id] } }, { orderBy: { title: 'asc' } })],
      ['a read in a transaction that wrote the row', (em, post) =>
        em.transactional(async (t) => {
          await t.nativeUpdate(Post, { id: post.id }, { title: 'x' });
          const mine = await t.findOneOrFail(Post, post.id);
          mine.title = 'in transaction';
          await t.flush();
          t.clear();
          db.log.reset();
          const seen = await t.findOneOrFail(Post, { slug: post.slug });
          expect(seen.title).toBe('in transaction');
          return seen;
        })],
    ];

    it.each(cases)('%s', async (_name, read) => {
      const { post } = await seed();
      await warm(post.slug);
      await read(fork(), post);
      expect(db.log.selects.filter((s) => /blog_post/.test(s)).length).toBeGreaterThan(0);
    });
  });

  describe('store.get() in a request context', () => {
    it('assembles hits into the context’s EntityManager', async () => {
      const { post, reader } = await seed();
      await warm(post.slug);
      await RequestContext.create(db.orm.em, async () => {
        const em = db.orm.em;
        const viewer = await em.findOneOrFail(User, reader.id, { populate: ['favorites'] });
        const fromStore = await chain.get(Post, { slug: post.slug });
        expect(viewer.favorites.contains(fromStore!)).toBe(true);
        expect(await em.findOne(Post, post.id)).toBe(fromStore);
      });
      expect(db.log.statements).toEqual([]);
    });

    it('assembles hits into an EntityManager given to the call (withEntityManager)', async () => {
      const { post } = await seed();
      await warm(post.slug);
      const em = fork();
      const fromStore = await withEntityManager(em, () => chain.get(Post, { slug: post.slug }));
      expect(wrap(fromStore!, true).__em).toBe(em);
      expect(await em.findOne(Post, post.id)).toBe(fromStore);
      expect(db.log.statements).toEqual([]);
    });

    it('getOrFail() takes a MikroORM FilterQuery and throws EntityNotFoundError', async () => {
      const { post } = await seed();
      expect((await getOrFail(chain, Post, { slug: { $eq: post.slug } })).id).toBe(post.id);
      expect((await getOrFail(chain, Post, post.id)).slug).toBe(post.slug);
      expect(keyOf(Post, { slug: post.slug })).toEqual({ slug: post.slug });
      await expect(getOrFail(chain, Post, { slug: `none-${next()}` })).rejects.toBeInstanceOf(EntityNotFoundError);
      await expect(getOrFail(chain, Post, { slug: `none-${next()}` })).rejects.toMatchObject({ code: 'E_ENTITY_NOT_FOUND' });
    });
  });
});
