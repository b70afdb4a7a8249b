import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import { helper, wrap } from '@mikro-orm/core';
import { decodeRecord, encodeRecord, getMetadata } from '@stockpyle/core';
import '@stockpyle/mikro-orm';
import { Article, Author, Car, Dateline, ENTITIES, Foo, Seat } from './support/entities';
import { NEVER_CONNECTED } from './support/orm';

describe('@Stockpyle() on a MikroORM entity', () => {
  it('uses the primary key when no keys are declared, before any ORM has discovered the class', () => {
    expect(getMetadata(Author).keys.map((k) => k.declared)).toEqual([['id']]);
    expect(getMetadata(Seat).keys.map((k) => k.declared)).toEqual([['hall', 'num']]);
  });

  it('keeps the keys that are declared, and a subclass inherits them', () => {
    expect(getMetadata(Foo).keys.map((k) => k.declared)).toEqual([['id'], ['zap', 'bar']]);
    expect(getMetadata(Car).keys.map((k) => k.declared)).toEqual([['license_plate']]);
  });
});

describe('entities in cache tiers (codec)', () => {
  let orm: MikroORM;
  beforeAll(async () => {
    orm = await MikroORM.init({ ...NEVER_CONNECTED, entities: ENTITIES, allowGlobalContext: false });
  });
  afterAll(async () => {
    await orm.close(true);
  });

  /** What a tier outside the process would give back: encode, then decode. */
  function roundTrip<T extends object>(obj: T): { obj: T; payload: string } {
    const payload = encodeRecord({ kind: 'value', obj, expiresAt: 0 });
    const record = decodeRecord(payload);
    if (record.kind !== 'value') throw new Error(`did not decode: ${JSON.stringify(record)}`);
    return { obj: record.obj as T, payload };
  }

  function loadedArticle(): Article {
    const em = orm.em.fork();
    const author = em.create(Author, { id: 7, name: 'Ann' });
    const article = em.create(Article, {
      id: 1,
      slug: 'hello',
      title: 'Hello',
      publishedAt: new Date(Date.UTC(2024, 0, 2)),
      dateline: { city: 'Oslo', country: null },
      extra: { tags: ['a', 'b'], n: 1 },
      author,
      version: 3,
    });
    author.articles.add(article);
    return article;
  }

  it('comes back as an instance of the entity class with scalars, dates, JSON and embeddables', () => {
    const { obj } = roundTrip(loadedArticle());
    expect(obj).toBeInstanceOf(Article);
    expect(obj).toMatchObject({ id: 1, slug: 'hello', title: 'Hello', version: 3, extra: { tags: ['a', 'b'], n: 1 } });
    expect(obj.publishedAt).toEqual(new Date(Date.UTC(2024, 0, 2)));
    expect(obj.dateline).toBeInstanceOf(Dateline);
    expect(obj.dateline).toMatchObject({ city: 'Oslo', country: null });
  });

  it('keeps a relation as a reference: its primary key only, not loaded', () => {
    const { obj, payload } = roundTrip(loadedArticle());
    expect(obj.author).toBeInstanceOf(Author);
    expect(obj.author!.id).toBe(7);
    expect(wrap(obj.author!).isInitialized()).toBe(false);
    expect(payload).not.toContain('Ann');
  });

  it('leaves collections out: they come back unloaded, and the payload holds none of their items', () => {
    const article = loadedArticle();
    const { obj, payload } = roundTrip(article.author!);
    expect(obj).toBeInstanceOf(Author);
    expect(obj.name).toBe('Ann');
    expect(obj.articles.isInitialized()).toBe(false);
    expect(payload).not.toContain('hello');
  });

  it('attaches the decoded entity to no EntityManager', () => {
    const { obj } = roundTrip(new Foo(1, 2, 'x'));
    expect(obj).toBeInstanceOf(Foo);
    expect(obj).toMatchObject({ id: 1, zap: 2, bar: 'x' });
    expect(helper(obj).__em).toBeUndefined();
  });

  it('keeps a subclass of single-table inheritance as its own class', () => {
    const car = new Car('AB-1');
    car.kind = 'car';
    const { obj } = roundTrip(car);
    expect(obj).toBeInstanceOf(Car);
    expect(obj.license_plate).toBe('AB-1');
  });
});
