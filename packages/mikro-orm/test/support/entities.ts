import { Collection } from '@mikro-orm/core';
import { Embeddable, Embedded, Entity, ManyToOne, OneToMany, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { Stockpyle } from '@stockpyle/core';

/** Keyed by its primary key only: `@Stockpyle()` without keys. Its articles are a collection. */
@Entity({ tableName: 'author' })
@Stockpyle({ name: 'mo.Author' })
export class Author {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  name!: string;

  @OneToMany({ entity: () => Article, mappedBy: 'author' })
  articles = new Collection<Article>(this);
}

@Embeddable()
export class Dateline {
  @Property({ type: 'string' })
  city!: string;

  @Property({ type: 'string', nullable: true })
  country?: string | null;
}

/** Scalars, a date, an embeddable, JSON, a relation, a version and an `onUpdate` timestamp. */
@Entity({ tableName: 'article' })
@Stockpyle({ keys: ['id', 'slug'], name: 'mo.Article' })
export class Article {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string', unique: true })
  slug!: string;

  @Property({ type: 'string' })
  title!: string;

  @Property({ type: 'Date', nullable: true })
  publishedAt?: Date | null;

  @Embedded({ entity: () => Dateline, nullable: true })
  dateline?: Dateline | null;

  @Property({ type: 'json', nullable: true })
  extra?: Record<string, unknown> | null;

  @ManyToOne({ entity: () => Author, nullable: true })
  author?: Author | null;

  @Property({ type: 'integer', version: true })
  version!: number;

  @Property({ type: 'Date', nullable: true, onUpdate: () => new Date() })
  updatedAt?: Date | null;
}

/** The seed's Foo: keyed by `id` and by `(zap, bar)`. */
@Entity({ tableName: 'foo' })
@Unique({ properties: ['zap', 'bar'] })
@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'mo.Foo' })
export class Foo {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  @Property({ type: 'integer' })
  zap!: number;

  @Property({ type: 'string' })
  bar!: string;

  constructor(id: number, zap: number, bar: string) {
    this.id = id;
    this.zap = zap;
    this.bar = bar;
  }
}

/** Single-table inheritance: `get(Automobile, …)` finds a Car in the database. */
@Entity({ tableName: 'automobile', discriminatorColumn: 'kind', discriminatorValue: 'automobile' })
@Stockpyle({ keys: ['license_plate'], name: 'mo.Automobile' })
export class Automobile {
  @PrimaryKey({ type: 'string' })
  license_plate!: string;

  @Property({ type: 'string' })
  kind!: string;

  constructor(license_plate: string) {
    this.license_plate = license_plate;
  }
}

@Entity({ discriminatorValue: 'car' })
@Stockpyle({ name: 'mo.Car' })
export class Car extends Automobile {}

@Entity({ discriminatorValue: 'truck' })
@Stockpyle({ name: 'mo.Truck' })
export class Truck extends Automobile {
  @Property({ type: 'integer', nullable: true })
  axles?: number | null;
}

/** `label` is a declared key without a unique constraint. */
@Entity({ tableName: 'tag' })
@Stockpyle({ keys: ['id', 'label'], name: 'mo.Tag' })
export class Tag {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  label!: string;
}

/** A composite primary key: `@Stockpyle()` keys it by `(hall, num)`. */
@Entity({ tableName: 'seat' })
@Stockpyle({ name: 'mo.Seat' })
export class Seat {
  @PrimaryKey({ type: 'string' })
  hall!: string;

  @PrimaryKey({ type: 'integer' })
  num!: number;

  @Property({ type: 'string', nullable: true })
  holder?: string | null;
}

/** An entity that is not a stockpyle class. */
@Entity({ tableName: 'note' })
export class Note {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  text!: string;
}

/** Not an entity: the database store ignores it. */
@Stockpyle({ keys: ['id'], name: 'mo.Plain' })
export class Plain {
  constructor(public id: number) {}
}

export const ENTITIES = [Author, Dateline, Article, Foo, Automobile, Car, Truck, Tag, Seat, Note];
