import { EntityManager } from '@mikro-orm/postgresql';
import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { Article } from './article.entity';
import { Comment } from './comment.entity';
import { bodyOf } from './input';
import type { User } from './user.entity';
import { commentView, type CommentView } from './views';

/** Comments, through the article's `comments` collection. */
@Injectable()
export class CommentsService {
  constructor(private readonly em: EntityManager) {}

  async list(slug: string, viewer: User | undefined): Promise<CommentView[]> {
    const article = await this.#article(slug, viewer === undefined ? ['comments.author'] : ['comments.author.followers']);
    return article.comments.getItems().map((comment) => commentView(comment, viewer));
  }

  async add(slug: string, body: unknown, viewer: User): Promise<CommentView> {
    const input = bodyOf(body, 'comment', { body: 'string' });
    const article = await this.#article(slug, ['comments']);
    const comment = this.em.create(Comment, { body: input.body, author: viewer, article });
    article.comments.add(comment);
    await this.em.flush();
    await this.em.populate(viewer, ['followers']);
    return commentView(comment, viewer);
  }

  /** Removing it from the article's collection deletes it (orphan removal). */
  async remove(slug: string, id: number, viewer: User): Promise<void> {
    const article = await this.#article(slug, ['comments']);
    const comment = article.comments.find((c) => c.id === id);
    if (comment === undefined) throw new NotFoundException(`no comment ${id} on ${slug}`);
    if (comment.author !== viewer) throw new ForbiddenException('only its author may delete a comment');
    article.comments.remove(comment);
    await this.em.flush();
  }

  async #article(slug: string, populate: readonly ('comments' | 'comments.author' | 'comments.author.followers')[]): Promise<Article> {
    const article = await this.em.findOne(Article, { slug }, { populate });
    if (article === null) throw new NotFoundException(`no article ${slug}`);
    return article;
  }
}
