import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type EntityManager as CoreEntityManager } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ChainedStore, ProcessMemoryStore, type CacheTier } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { CollectionEntry, MikroOrmStore, stockpyleEntityManager, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { RedisStore } from '@stockpyle/redis';
import { serviceUrl } from '../../../test-support/test-environment';
import { BLOG, Label, Post, Remark, User } from './support/blog';
import { openOrm, type TestOrm } from './support/orm';

const prefix = `ce-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

const tiers: [string, () => CacheTier][] = [
  ['ProcessMemoryStore', () => new ProcessMemoryStore()],
  ['RedisStore', () => new RedisStore({ url: serviceUrl('redis'), prefix })],
  ['MemcacheStore', () => new MemcacheStore({ servers: serviceUrl('memcached').split(','), prefix })],
];

/** Each collection after each kind of change, read through the cache and compared with the database: 0 stale reads. */
describe.each(tiers)('declared collections over [%s, MikroOrmStore]', (tierName, makeTier) => {
  let db: TestOrm;
  let chain: ChainedStore;
  let seq = Math.floor(Math.random() * 1_000_000) * 100;
  const next = (): number => (seq += 1);

  beforeAll(async () => {
    db = await openOrm(`ce_${tierName.slice(0, 5).toLowerCase()}`, { extra: { entities: BLOG, entityManager: stockpyleEntityManager(EntityManager) } });
    chain = new ChainedStore([makeTier(), new MikroOrmStore({ orm: db.orm })]);
    db.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
  });

  afterAll(async () => {
    await chain.release();
    await db.close();
  });

  beforeEach(() => db.log.reset());

  const fork = (): CoreEntityManager => db.orm.em.fork();

  async function seed(): Promise<{ author: User; reader: User; post: Post; other: Post; label: Label; remarks: Remark[] }> {
    const em = fork();
    const n = next();
    const author = em.create(User, { id: n, email: `a${n}@x`, name: `author${n}` });
    const reader = em.create(User, { id: n + 50_000_000, email: `r${n}@x`, name: `reader${n}` });
    const label = em.create(Label, { id: n, name: `label${n}` });
    const post = em.create(Post, { id: n, slug: `post-${n}`, title: `Post ${n}`, author });
    const other = em.create(Post, { id: n + 50_000_000, slug: `other-${n}`, title: `Other ${n}`, author });
    post.tags.add(label);
    reader.favorites.add(post);
    const remarks = [1, 2].map((i) => em.create(Remark, { id: n * 10 + i, body: `remark ${i}`, post, author: reader }));
    await em.flush();
    return { author, reader, post, other, label, remarks };
  }

  /** What the database holds, read without the cache (a raw query: no entity, no chain). */
  async function truth(sql: string, id: number): Promise<number[]> {
    const rows = await db.orm.em.getConnection().execute<{ id: number }[]>(sql, [id]);
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  }

  const schema = (): string => db.orm.config.get('schema') as string;
  /** The owning side's pivot table and columns, from the ORM's metadata. */
  function pivot(cls: Function, prop: string): { table: string; owner: string; member: string } {
    const p = db.orm.getMetadata().find(cls.name as never)!.properties[prop as never] as unknown as { pivotTable: string; joinColumns: string[]; inverseJoinColumns: string[] };
    return { table: p.pivotTable.split('.').pop()!, owner: p.joinColumns[0]!, member: p.inverseJoinColumns[0]! };
  }
  const comments = (post: Post) => truth(`select id from "${schema()}".blog_remark where post_id = ?`, post.id);
  const fav = () => pivot(User, 'favorites');
  const tag = () => pivot(Post, 'tags');
  const favorites = (user: User) => truth(`select ${fav().member} as id from "${schema()}".${fav().table} where ${fav().owner} = ?`, user.id);
  const favoritedBy = (post: Post) => truth(`select ${fav().owner} as id from "${schema()}".${fav().table} where ${fav().member} = ?`, post.id);
  const labelPosts = (label: Label) => truth(`select ${tag().owner} as id from "${schema()}".${tag().table} where ${tag().member} = ?`, label.id);
  const postTags = (post: Post) => truth(`select ${tag().member} as id from "${schema()}".${tag().table} where ${tag().owner} = ?`, post.id);

  /** The collection as a new request sees it through the cache, by its members' ids. */
  async function cached<T extends object>(cls: new (...args: never[]) => T, id: number, prop: keyof T & string): Promise<number[]> {
    const em = fork();
    const owner = await em.findOneOrFail(cls, id as never, { populate: [prop] as never });
    const items = (owner[prop] as unknown as { getItems(): { id: number }[] }).getItems();
    return items.map((m) => m.id).sort((a, b) => a - b);
  }

  /** Reads each collection twice (the first fills the entry, the second is served) and checks both against the database. */
  async function expectFresh(checks: [() => Promise<number[]>, () => Promise<number[]>][]): Promise<void> {
    for (const [fromCache, fromDb] of checks) {
      const want = await fromDb();
      expect(await fromCache()).toEqual(want);
      expect(await fromCache()).toEqual(want);
    }
  }

  it('caches a collection as its members’ primary keys, served with no SQL once warm', async () => {
    const { post, remarks } = await seed();
    await cached(Post, post.id, 'comments');
    db.log.reset();
    expect(await cached(Post, post.id, 'comments')).toEqual(remarks.map((r) => r.id).sort((a, b) => a - b));
    expect(db.log.statements).toEqual([]);
    const entry = await chain.get(CollectionEntry, { key: `blog.Post.comments:${post.id}` });
    expect(entry?.members.map(Number).sort((a, b) => a - b)).toEqual(remarks.map((r) => r.id).sort((a, b) => a - b));
  });

  /** The entry the chain holds now: after an invalidation and a read, the database's members again. */
  async function entry(key: string): Promise<number[] | undefined> {
    return (await chain.get(CollectionEntry, { key }))?.members.map(Number).sort((a, b) => a - b);
  }

  it('a member added (one-to-many)', async () => {
    const { post, reader } = await seed();
    await cached(Post, post.id, 'comments');
    const em = fork();
    em.create(Remark, { id: next() * 10, body: 'new', post: em.getReference(Post, post.id), author: em.getReference(User, reader.id) });
    await em.flush();
    await expectFresh([[() => cached(Post, post.id, 'comments'), () => comments(post)]]);
  });

  it('a member removed from the collection (orphanRemoval)', async () => {
    const { post } = await seed();
    await cached(Post, post.id, 'comments');
    const em = fork();
    const mine = await em.findOneOrFail(Post, post.id, { populate: ['comments'] });
    mine.comments.remove(mine.comments.getItems()[0]!);
    await em.flush();
    await expectFresh([[() => cached(Post, post.id, 'comments'), () => comments(post)]]);
    expect(await entry(`blog.Post.comments:${post.id}`)).toEqual(await comments(post));
  });

  it('a member deleted', async () => {
    const { post, remarks } = await seed();
    await cached(Post, post.id, 'comments');
    const em = fork();
    em.remove(await em.findOneOrFail(Remark, remarks[1]!.id));
    await em.flush();
    await expectFresh([[() => cached(Post, post.id, 'comments'), () => comments(post)]]);
    expect(await entry(`blog.Post.comments:${post.id}`)).toEqual(await comments(post));
  });

  it('a member moved to another owner (its foreign key changed): both owners', async () => {
    const { post, other, remarks } = await seed();
    await cached(Post, post.id, 'comments');
    await cached(Post, other.id, 'comments');
    const em = fork();
    const remark = await em.findOneOrFail(Remark, remarks[0]!.id);
    remark.post = em.getReference(Post, other.id);
    await em.flush();
    await expectFresh([
      [() => cached(Post, post.id, 'comments'), () => comments(post)],
      [() => cached(Post, other.id, 'comments'), () => comments(other)],
    ]);
  });

  it('a many-to-many changed on its owning side: both sides', async () => {
    const { post, other, reader } = await seed();
    await cached(User, reader.id, 'favorites');
    await cached(Post, post.id, 'favoritedBy');
    await cached(Post, other.id, 'favoritedBy');
    const em = fork();
    const user = await em.findOneOrFail(User, reader.id, { populate: ['favorites'] });
    user.favorites.remove(user.favorites.getItems()[0]!);
    user.favorites.add(em.getReference(Post, other.id));
    await em.flush();
    await expectFresh([
      [() => cached(User, reader.id, 'favorites'), () => favorites(reader)],
      [() => cached(Post, post.id, 'favoritedBy'), () => favoritedBy(post)],
      [() => cached(Post, other.id, 'favoritedBy'), () => favoritedBy(other)],
    ]);
  });

  it('a many-to-many changed from its inverse side: both sides', async () => {
    const { post, other, label } = await seed();
    await cached(Label, label.id, 'posts');
    await cached(Post, post.id, 'tags');
    await cached(Post, other.id, 'tags');
    const em = fork();
    const mine = await em.findOneOrFail(Post, other.id, { populate: ['tags'] });
    mine.tags.add(em.getReference(Label, label.id));
    await em.flush();
    await expectFresh([
      [() => cached(Label, label.id, 'posts'), () => labelPosts(label)],
      [() => cached(Post, other.id, 'tags'), () => postTags(other)],
      [() => cached(Post, post.id, 'tags'), () => postTags(post)],
    ]);
  });

  it('an owner deleted: its entry is gone with it', async () => {
    const { other, author } = await seed();
    await cached(User, author.id, 'articles');
    await cached(Post, other.id, 'comments');
    const em = fork();
    em.remove(await em.findOneOrFail(Post, other.id));
    await em.flush();
    await expectFresh([[() => cached(User, author.id, 'articles'), () => truth(`select id from "${schema()}".blog_post where author_id = ?`, author.id)]]);
    expect(await fork().findOne(Post, other.id)).toBeNull();
    expect(await chain.get(CollectionEntry, { key: `blog.Post.comments:${other.id}` })).toBeUndefined();
  });

  it('a change rolled back leaves the entry as it was', async () => {
    const { post, reader } = await seed();
    await cached(Post, post.id, 'comments');
    await expect(
      fork().transactional(async (em) => {
        em.create(Remark, { id: next() * 10, body: 'rolled back', post: em.getReference(Post, post.id), author: em.getReference(User, reader.id) });
        await em.flush();
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    const want = await comments(post);
    db.log.reset();
    expect(await cached(Post, post.id, 'comments')).toEqual(want);
    expect(db.log.selects.filter((s) => /blog_remark/.test(s))).toEqual([]);
  });
});
