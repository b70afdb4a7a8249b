import { Collection } from '@mikro-orm/core';
import { Entity, ManyToMany, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Stockpyle } from '@stockpyle/core';

/** The second-level cache's test model: a small blog. Users are keyed by id, email and name. */
@Entity({ tableName: 'blog_user' })
@Stockpyle({ keys: ['id', 'email', 'name'], name: 'blog.User', collections: ['articles', 'favorites'] })
export class User {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string', unique: true })
  email!: string;

  @Property({ type: 'string', unique: true })
  name!: string;

  @Property({ type: 'string', nullable: true })
  bio?: string | null;

  @OneToMany({ entity: () => Post, mappedBy: 'author' })
  articles = new Collection<Post>(this);

  @ManyToMany({ entity: () => Post, inversedBy: 'favoritedBy', pivotTable: 'blog_favorite' })
  favorites = new Collection<Post>(this);

  /** Not declared: comes back not loaded from a hit, as without the cache. */
  @OneToMany({ entity: () => Remark, mappedBy: 'author' })
  remarks = new Collection<Remark>(this);
}

/** Its author is `eager`; comments, tags and the users who favorited it are declared collections. */
@Entity({ tableName: 'blog_post' })
@Stockpyle({ keys: ['id', 'slug'], name: 'blog.Post', collections: ['comments', 'tags', 'favoritedBy'] })
export class Post {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string', unique: true })
  slug!: string;

  @Property({ type: 'string' })
  title!: string;

  @ManyToOne({ entity: () => User, eager: true })
  author!: User;

  @OneToMany({ entity: () => Remark, mappedBy: 'post', orphanRemoval: true })
  comments = new Collection<Remark>(this);

  @ManyToMany({ entity: () => Label, inversedBy: 'posts', pivotTable: 'blog_post_label' })
  tags = new Collection<Label>(this);

  @ManyToMany({ entity: () => User, mappedBy: 'favorites' })
  favoritedBy = new Collection<User>(this);
}

@Entity({ tableName: 'blog_remark' })
@Stockpyle({ name: 'blog.Remark' })
export class Remark {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  body!: string;

  @ManyToOne({ entity: () => Post, nullable: true })
  post?: Post | null;

  @ManyToOne({ entity: () => User })
  author!: User;
}

@Entity({ tableName: 'blog_label' })
@Stockpyle({ keys: ['id', 'name'], name: 'blog.Label', collections: ['posts'] })
export class Label {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string', unique: true })
  name!: string;

  @ManyToMany({ entity: () => Post, mappedBy: 'tags' })
  posts = new Collection<Post>(this);
}

export const BLOG = [User, Post, Remark, Label];
