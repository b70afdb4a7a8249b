// Times the phases of case 8's served find alone: `node --import tsx src/profile/entity-hit.ts` (from benchmarks/).
import 'reflect-metadata';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { RequestContext } from '@mikro-orm/core';
import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { MikroOrmStore, stockpyleEntityManager, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { filtersApply, flushBeforeRead } from '../../../packages/mikro-orm/src/orm-internals';
import { assemblingInto } from '../../../packages/mikro-orm/src/assemble';
import { startPostgres } from '../../../test-support/services';

@Stockpyle({ keys: ['id', 'slug'], name: 'prof.Story' })
@Entity({ tableName: 'prof_story' })
class Story {
  @PrimaryKey({ type: 'integer', autoincrement: false }) id!: number;
  @Property({ type: 'string', unique: true }) slug!: string;
  @Property({ type: 'string' }) title!: string;
}

async function time(label: string, n: number, op: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) await op(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  console.log(label.padEnd(40), (((performance.now() - t) / n) * 1000).toFixed(1), 'µs');
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  try {
    const orm = await MikroORM.init({ clientUrl: pg.url, entities: [Story], allowGlobalContext: true, entityManager: stockpyleEntityManager(EntityManager) });
    await orm.schema.refresh();
    const seed = orm.em.fork();
    for (let i = 1; i <= 100; i++) seed.create(Story, { id: i, slug: `s-${i}`, title: `t${i}` });
    await seed.flush();
    const store = new ChainedStore([new ProcessMemoryStore(), new MikroOrmStore({ orm })]);
    orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store }));
    for (let i = 1; i <= 100; i++) await orm.em.fork().findOne(Story, { slug: `s-${i}` });
    const meta = orm.getMetadata().find('Story' as never)!;
    const n = 5000;
    await time('fork', n, () => Promise.resolve(orm.em.fork()));
    await time('fork + filtersApply', n, () => filtersApply(orm.em.fork(), meta, undefined, {}));
    await time('fork + flushBeforeRead', n, () => flushBeforeRead(orm.em.fork(), meta, {}));
    await time('fork + chain.get (assembled)', n, (i) => {
      const em = orm.em.fork();
      return assemblingInto(em, () => store.get(Story, { slug: `s-${(i % 100) + 1}` }));
    });
    await time('fork + em.findOne served', n, (i) => orm.em.fork().findOne(Story, { slug: `s-${(i % 100) + 1}` }));
    await time('RequestContext + em.findOne served', n, (i) => RequestContext.create(orm.em, () => orm.em.findOne(Story, { slug: `s-${(i % 100) + 1}` })));
    await store.release();
    await orm.close(true);
  } finally {
    await pg.stop();
  }
}

void main();
