import { Collection, OptionalProps } from '@mikro-orm/core';
import { Entity, ManyToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Stockpyle } from '@stockpyle/core';
import { Article } from './article.entity';

/**
 * A registered user. The API finds users by id (the token), by email (login) and by username
 * (profiles), so all three are declared stockpyle keys.
 */
@Stockpyle({ keys: ['id', 'email', 'username'], collections: ['following', 'followers', 'favorites'], name: 'realworld.User' })
@Entity({ tableName: 'realworld_user' })
export class User {
  declare [OptionalProps]?: 'id' | 'bio' | 'image';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', unique: true })
  email!: string;

  @Property({ type: 'string', unique: true })
  username!: string;

  /** scrypt hash with its salt (see password.ts); never serialized. */
  @Property({ type: 'string', hidden: true })
  passwordHash!: string;

  @Property({ type: 'text', nullable: true })
  bio: string | null = null;

  @Property({ type: 'string', nullable: true })
  image: string | null = null;

  /** Whom this user follows: the owning side, so following is `viewer.following.add(author)`. */
  @ManyToMany({ entity: () => User, inversedBy: 'followers', pivotTable: 'realworld_user_follows' })
  following = new Collection<User>(this);

  @ManyToMany({ entity: () => User, mappedBy: 'following' })
  followers = new Collection<User>(this);

  @ManyToMany({ entity: () => Article, inversedBy: 'favoritedBy', pivotTable: 'realworld_user_favorites' })
  favorites = new Collection<Article>(this);
}
