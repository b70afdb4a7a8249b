import { OptionalProps, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Article } from './article.entity';
import { User } from './user.entity';
import { Stockpyle } from '@stockpyle/core';

/** `Rel<>` keeps the decorator metadata from touching a class of a circular import before it exists. */
@Stockpyle({ keys: ['id'], name: 'realworld.Comment' })
@Entity({ tableName: 'realworld_comment' })
export class Comment {
  declare [OptionalProps]?: 'id' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'text' })
  body!: string;

  @Property({ type: 'Date' })
  createdAt: Date = new Date();

  /** Equal to `createdAt` until the first change. */
  @Property({ type: 'Date', onUpdate: () => new Date() })
  updatedAt: Date = new Date(this.createdAt);

  @ManyToOne({ entity: () => User })
  author!: Rel<User>;

  @ManyToOne({ entity: () => Article })
  article!: Rel<Article>;
}
