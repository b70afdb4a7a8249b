import { Collection, OptionalProps, type Rel } from '@mikro-orm/core';
import { Entity, ManyToMany, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Stockpyle } from '@stockpyle/core';
import { Comment } from './comment.entity';
import { Tag } from './tag.entity';
import { User } from './user.entity';

/** An article; the API addresses it by its slug, derived from the title, so `slug` is a second key. */
@Stockpyle({ keys: ['id', 'slug'], collections: ['tags', 'favoritedBy', 'comments'], name: 'realworld.Article' })
@Entity({ tableName: 'realworld_article' })
export class Article {
  declare [OptionalProps]?: 'id' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', unique: true })
  slug!: string;

  @Property({ type: 'string' })
  title!: string;

  @Property({ type: 'string' })
  description!: string;

  @Property({ type: 'text' })
  body!: string;

  @Property({ type: 'Date' })
  createdAt: Date = new Date();

  /** Equal to `createdAt` until the first change. */
  @Property({ type: 'Date', onUpdate: () => new Date() })
  updatedAt: Date = new Date(this.createdAt);

  @ManyToOne({ entity: () => User })
  author!: Rel<User>;

  @ManyToMany({ entity: () => Tag, pivotTable: 'realworld_article_tags' })
  tags = new Collection<Tag>(this);

  @ManyToMany({ entity: () => User, mappedBy: 'favorites' })
  favoritedBy = new Collection<User>(this);

  /** A comment removed from an article is deleted, and deleting the article deletes its comments. */
  @OneToMany({ entity: () => Comment, mappedBy: 'article', orphanRemoval: true, orderBy: { id: 'asc' } })
  comments = new Collection<Comment>(this);
}
