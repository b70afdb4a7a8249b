import { Collection, RequestContext } from '@mikro-orm/core';
import { Entity, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { MikroOrmStore, stockpyleEntityManager, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import type { BenchCase } from '../case';
import { atLeast, atMost, context, med, measureRows, sequentialMicros } from '../harness';

const KEYS = 1_000;

@Stockpyle({ keys: ['id'], name: 'bench.Writer' })
@Entity({ tableName: 'bench_writer' })
class Writer {
  @PrimaryKey({ type: 'integer', autoincrement: false }) id!: number;
  @Property({ type: 'string' }) name!: string;
  @OneToMany({ entity: () => Story, mappedBy: 'writer' }) stories = new Collection<Story>(this);
}

/** An article as a RealWorld API has it: keyed by id and slug, its author a many-to-one. */
@Stockpyle({ keys: ['id', 'slug'], name: 'bench.Story' })
@Entity({ tableName: 'bench_story' })
class Story {
  @PrimaryKey({ type: 'integer', autoincrement: false }) id!: number;
  @Property({ type: 'string', unique: true }) slug!: string;
  @Property({ type: 'string' }) title!: string;
  @Property({ type: 'text' }) body!: string;
  @ManyToOne({ entity: () => Writer }) writer!: Writer;
}

/**
 * Case 8 (issue 19): the second-level cache. `em.findOne(Story, { slug })` answered by the first
 * tier into a request context's EntityManager, against MikroORM's own identity-map hit by primary
 * key, its result-cache hit in a fresh fork, and the database read; the same find repeated in one
 * context; `store.get` in a context, repeated. Both ORMs share the tables; only one has the cache.
 */
export const entityHit: BenchCase = {
  id: 8,
  title: 'Second-level cache: em.findOne by a unique key, served by the first tier into the caller’s EntityManager',
  needs: ['postgres'],
  async run(ctx) {
    const common = { clientUrl: ctx.urls.postgres!, entities: [Writer, Story], allowGlobalContext: true, pool: { min: 1, max: 4 } };
    const plain = await MikroORM.init(common);
    await plain.schema.refresh();
    const seed = plain.em.fork();
    for (let i = 1; i <= 10; i++) seed.create(Writer, { id: i, name: `Writer ${i}` });
    for (let i = 1; i <= KEYS; i++) seed.create(Story, { id: i, slug: `story-${i}`, title: `Story ${i}`, body: 'x'.repeat(120), writer: seed.getReference(Writer, (i % 10) + 1) });
    await seed.flush();
    const cached = await MikroORM.init({ ...common, entityManager: stockpyleEntityManager(EntityManager) });
    const store = new ChainedStore([new ProcessMemoryStore({ max: KEYS * 4 }), new MikroOrmStore({ orm: cached })]);
    cached.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store }));
    const warm = cached.em.fork();
    for (let i = 1; i <= KEYS; i++) await warm.findOne(Story, { slug: `story-${i}` });
    const slug = (i: number) => `story-${(i % KEYS) + 1}`;
    const hits = ctx.quick ? 5_000 : 20_000;
    const finds = ctx.quick ? 200 : 500;
    const identity = plain.em.fork();
    for (let i = 1; i <= KEYS; i++) await identity.findOne(Story, i);
    const repeated = cached.em.fork();
    await repeated.findOne(Story, { slug: slug(0) });
    const rows = await measureRows(
      [
        {
          id: 'served',
          label: 'stockpyle: `em.findOne(Story, { slug })` in a new request context, first-tier hit (eager-free, writer a reference)',
          unit: 'µs/op',
          run: () => sequentialMicros(hits, (i) => RequestContext.create(cached.em, () => cached.em.findOne(Story, { slug: slug(i) }))),
        },
        {
          id: 'context',
          label: 'the request context alone: `RequestContext.create(orm.em, …)` (a fork), nothing read',
          unit: 'µs/op',
          run: () => sequentialMicros(hits, () => RequestContext.create(cached.em, () => Promise.resolve())),
        },
        {
          id: 'repeated',
          label: 'stockpyle: the same `em.findOne(Story, { slug })` repeated in one context',
          unit: 'µs/op',
          run: () => sequentialMicros(hits, () => repeated.findOne(Story, { slug: slug(0) })),
        },
        {
          id: 'store-get',
          label: 'stockpyle: `store.get(Story, { slug })` in one context, repeated',
          unit: 'µs/op',
          run: () => RequestContext.create(cached.em, () => sequentialMicros(hits, () => store.get(Story, { slug: slug(0) }))),
        },
        {
          id: 'identity-map',
          label: 'MikroORM: `em.findOne(Story, id)` answered by its identity map (same EntityManager)',
          unit: 'µs/op',
          run: () => sequentialMicros(hits, (i) => identity.findOne(Story, (i % KEYS) + 1)),
        },
        {
          id: 'result-cache',
          label: 'MikroORM: `em.fork().findOne(Story, { slug }, { cache })` result-cache hit in a fresh fork',
          unit: 'µs/op',
          run: () => sequentialMicros(hits, (i) => plain.em.fork().findOne(Story, { slug: slug(i % 50) }, { cache: 600_000 })),
        },
        {
          id: 'database',
          label: 'MikroORM: `em.fork().findOne(Story, { slug })` from PostgreSQL (loopback)',
          unit: 'µs/op',
          run: () => sequentialMicros(finds, (i) => plain.em.fork().findOne(Story, { slug: slug(i) })),
        },
      ],
      ctx.runs,
    );
    await store.release();
    await cached.close(true);
    await plain.close(true);
    const served = med(rows, 'served');
    return {
      rows,
      checks: [
        atMost('served find / MikroORM identity-map hit', served / med(rows, 'identity-map'), 1.5),
        atLeast('MikroORM result-cache hit / served find', med(rows, 'result-cache') / served, 4),
        atLeast('database read / served find', med(rows, 'database') / served, 20),
        atMost('repeated find in one context / MikroORM identity-map hit', med(rows, 'repeated') / med(rows, 'identity-map'), 1),
        atMost('store.get in a context, repeated (µs)', med(rows, 'store-get'), 3),
        context('served find (µs)', served),
        context('served find minus the request context alone (µs)', served - med(rows, 'context')),
      ],
      notes: [`${KEYS.toLocaleString('en')} stories, all in the first tier; the result-cache row cycles 50 slugs (its cache warmed by the first run); every call awaited`],
    };
  },
};
