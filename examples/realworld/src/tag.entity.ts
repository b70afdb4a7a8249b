import { Stockpyle } from '@stockpyle/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/** Cached so that `article.tags` (a declared collection) resolves its members from the caches. */
@Stockpyle({ keys: ['id', 'name'], name: 'realworld.Tag' })
@Entity({ tableName: 'realworld_tag' })
export class Tag {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', unique: true })
  name!: string;
}
