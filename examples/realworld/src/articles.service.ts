import { type FilterQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { Article } from './article.entity';
import { bodyOf, invalid, slugify } from './input';
import { Tag } from './tag.entity';
import type { User } from './user.entity';
import { articleView, type ArticleView } from './views';

/** What an article's JSON needs; a viewer also needs to know whether they follow its author. */
const ANONYMOUS = ['author', 'tags', 'favoritedBy'] as const;
const SIGNED_IN = [...ANONYMOUS, 'author.followers'] as const;
const populate = (viewer: User | undefined) => (viewer === undefined ? ANONYMOUS : SIGNED_IN);

/** Filters of `GET /articles`. */
export interface ArticleFilters {
  tag?: string;
  author?: string;
  favorited?: string;
}

/** Articles, their tags and favorites; most recent first in lists. */
@Injectable()
export class ArticlesService {
  constructor(private readonly em: EntityManager) {}

  async get(slug: string, viewer: User | undefined): Promise<ArticleView> {
    return articleView(await this.#find(slug, viewer), viewer);
  }

  async list(filters: ArticleFilters, limit: number, offset: number, viewer: User | undefined): Promise<{ articles: ArticleView[]; articlesCount: number }> {
    const where: FilterQuery<Article> = {};
    if (filters.tag !== undefined) where.tags = { name: filters.tag };
    if (filters.author !== undefined) where.author = { username: filters.author };
    if (filters.favorited !== undefined) where.favoritedBy = { username: filters.favorited };
    return this.#page(where, limit, offset, viewer);
  }

  /** Articles by the authors the viewer follows. */
  feed(viewer: User, limit: number, offset: number): Promise<{ articles: ArticleView[]; articlesCount: number }> {
    return this.#page({ author: { followers: viewer } }, limit, offset, viewer);
  }

  async create(body: unknown, viewer: User): Promise<ArticleView> {
    const input = bodyOf(body, 'article', { title: 'string', description: 'string', body: 'string', tagList: 'string[]?' });
    const slug = await this.#freeSlug(input.title);
    const article = this.em.create(Article, { slug, title: input.title, description: input.description, body: input.body, author: viewer });
    article.tags.set(await this.#tags(input.tagList ?? []));
    await this.em.flush();
    return this.get(slug, viewer);
  }

  /** A new title gives a new slug, as RealWorld's spec says. */
  async update(slug: string, body: unknown, viewer: User): Promise<ArticleView> {
    const input = bodyOf(body, 'article', { title: 'string?', description: 'string?', body: 'string?' });
    const article = await this.#find(slug, viewer);
    if (article.author !== viewer) throw new ForbiddenException('only the author may change an article');
    if (input.title !== undefined && input.title !== article.title) article.slug = await this.#freeSlug(input.title);
    this.em.assign(article, Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)));
    await this.em.flush();
    return articleView(article, viewer);
  }

  /** Deletes the article; its comments go with it (orphan removal cascades the delete). */
  async remove(slug: string, viewer: User): Promise<void> {
    const article = await this.em.findOne(Article, { slug }, { populate: ['comments'] });
    if (article === null) throw new NotFoundException(`no article ${slug}`);
    if (article.author !== viewer) throw new ForbiddenException('only the author may delete an article');
    await this.em.remove(article).flush();
  }

  async favorite(slug: string, viewer: User): Promise<ArticleView> {
    const article = await this.#find(slug, viewer);
    if (!article.favoritedBy.contains(viewer)) viewer.favorites.add(article);
    await this.em.flush();
    return articleView(article, viewer);
  }

  async unfavorite(slug: string, viewer: User): Promise<ArticleView> {
    const article = await this.#find(slug, viewer);
    await viewer.favorites.init();
    viewer.favorites.remove(article);
    await this.em.flush();
    return articleView(article, viewer);
  }

  async #find(slug: string, viewer: User | undefined): Promise<Article> {
    const article = await this.em.findOne(Article, { slug }, { populate: populate(viewer) });
    if (article === null) throw new NotFoundException(`no article ${slug}`);
    return article;
  }

  async #page(where: FilterQuery<Article>, limit: number, offset: number, viewer: User | undefined) {
    const [articles, articlesCount] = await this.em.findAndCount(Article, where, {
      populate: populate(viewer),
      orderBy: { createdAt: 'desc', id: 'desc' },
      limit,
      offset,
    });
    return { articles: articles.map((article) => articleView(article, viewer)), articlesCount };
  }

  async #freeSlug(title: string): Promise<string> {
    const slug = slugify(title);
    if ((await this.em.findOne(Article, { slug })) !== null) throw invalid('title', 'gives a slug another article has: choose another title');
    return slug;
  }

  /** The tags of these names, created when new. */
  async #tags(names: readonly string[]): Promise<Tag[]> {
    const unique = [...new Set(names.map((name) => name.trim()))];
    if (unique.length === 0) return [];
    const existing = await this.em.find(Tag, { name: { $in: unique } });
    const known = new Set(existing.map((tag) => tag.name));
    return [...existing, ...unique.filter((name) => !known.has(name)).map((name) => this.em.create(Tag, { name }))];
  }
}
