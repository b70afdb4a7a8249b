import type { Article } from './article.entity';
import type { Comment } from './comment.entity';
import type { User } from './user.entity';

/** The JSON shapes of the RealWorld API (https://realworld-docs.netlify.app/specifications/backend/api-response-format/). */
export interface UserView {
  email: string;
  token: string;
  username: string;
  bio: string | null;
  image: string | null;
}

export interface ProfileView {
  username: string;
  bio: string | null;
  image: string | null;
  following: boolean;
}

export interface ArticleView {
  slug: string;
  title: string;
  description: string;
  body: string;
  tagList: string[];
  createdAt: string;
  updatedAt: string;
  favorited: boolean;
  favoritesCount: number;
  author: ProfileView;
}

export interface CommentView {
  id: number;
  createdAt: string;
  updatedAt: string;
  body: string;
  author: ProfileView;
}

export function userView(user: User, token: string): UserView {
  return { email: user.email, token, username: user.username, bio: user.bio, image: user.image };
}

/** `following` needs `user.followers` loaded when there is a viewer. */
export function profileView(user: User, viewer: User | undefined): ProfileView {
  const following = viewer !== undefined && user.followers.contains(viewer);
  return { username: user.username, bio: user.bio, image: user.image, following };
}

/** Needs `author`, `tags` and `favoritedBy` loaded, and `author.followers` when there is a viewer. */
export function articleView(article: Article, viewer: User | undefined): ArticleView {
  return {
    slug: article.slug,
    title: article.title,
    description: article.description,
    body: article.body,
    tagList: article.tags.getItems().map((tag) => tag.name).sort(),
    createdAt: article.createdAt.toISOString(),
    updatedAt: article.updatedAt.toISOString(),
    favorited: viewer !== undefined && article.favoritedBy.contains(viewer),
    favoritesCount: article.favoritedBy.count(),
    author: profileView(article.author, viewer),
  };
}

/** Needs `author`, and `author.followers` when there is a viewer. */
export function commentView(comment: Comment, viewer: User | undefined): CommentView {
  return {
    id: comment.id,
    createdAt: comment.createdAt.toISOString(),
    updatedAt: comment.updatedAt.toISOString(),
    body: comment.body,
    author: profileView(comment.author, viewer),
  };
}
