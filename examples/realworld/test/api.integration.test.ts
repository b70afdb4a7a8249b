import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { serviceUrl } from '../../../test-support/test-environment';
import { appConfigFromEnv } from '../src/app-config';
import { createApp } from '../src/create-app';
import { ApiClient } from './support/api-client';
import { dropRedisPrefix, freshDatabase, freshPrefix } from './support/databases';

jest.setTimeout(30_000);

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * The app's own API suite, after RealWorld's Postman collection: every endpoint, over HTTP,
 * against the harness's PostgreSQL. It runs without the cache and with it (memory, Redis, the
 * subscriber, the bus): the answers must not depend on it.
 */
describe.each([
  ['without the cache', false],
  ['with the cache', true],
])('examples/realworld API %s', (label, cached) => {
  let app: INestApplication;
  let api: ApiClient;
  const prefix = freshPrefix(cached ? 'api-cached' : 'api-plain');

  beforeAll(async () => {
    const pgUrl = await freshDatabase(cached ? 'stockpyle_realworld_api_cached' : 'stockpyle_realworld_api');
    const config = { ...appConfigFromEnv({ CACHE: cached ? 'on' : 'off', STOCKPYLE_REDIS_URL: serviceUrl('redis') }), pgUrl, cachePrefix: prefix, port: 0 };
    app = await createApp(config, ['error', 'warn']);
    api = new ApiClient(`${await app.getUrl()}/api`);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    if (cached) await dropRedisPrefix(prefix);
  });

  let jake: { token: string };
  let celeb: { token: string };

  describe('users', () => {
    it('POST /users registers a user and answers with a token', async () => {
      const res = await api.post('/users', { user: { username: 'jake', email: 'jake@jake.jake', password: 'jakejake' } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ user: { email: 'jake@jake.jake', username: 'jake', bio: null, image: null, token: expect.any(String) } });
      jake = res.body.user;
    });

    it('POST /users refuses a taken email or username, and missing fields, with 422 naming the field', async () => {
      const taken = await api.post('/users', { user: { username: 'other', email: 'jake@jake.jake', password: 'x' } });
      expect(taken).toEqual({ status: 422, body: { errors: { email: ['has already been taken'] } } });
      const takenName = await api.post('/users', { user: { username: 'jake', email: 'other@x.y', password: 'x' } });
      expect(takenName).toEqual({ status: 422, body: { errors: { username: ['has already been taken'] } } });
      const missing = await api.post('/users', { user: { username: 'nopass', email: 'nopass@x.y' } });
      expect(missing).toEqual({ status: 422, body: { errors: { password: ["can't be blank"] } } });
      expect((await api.post('/users', { username: 'flat' })).status).toBe(422);
    });

    it('POST /users/login answers with the same user and token; a wrong password is 422', async () => {
      const res = await api.post('/users/login', { user: { email: 'jake@jake.jake', password: 'jakejake' } });
      expect(res).toEqual({ status: 200, body: { user: jake } });
      const wrong = await api.post('/users/login', { user: { email: 'jake@jake.jake', password: 'nope' } });
      expect(wrong).toEqual({ status: 422, body: { errors: { 'email or password': ['is invalid'] } } });
      const unknown = await api.post('/users/login', { user: { email: 'nobody@x.y', password: 'jakejake' } });
      expect(unknown.status).toBe(422);
    });

    it('GET /user answers the signed-in user; no token or a forged one is 401', async () => {
      expect(await api.get('/user', jake.token)).toEqual({ status: 200, body: { user: jake } });
      expect((await api.get('/user')).status).toBe(401);
      expect((await api.get('/user', `${jake.token}x`)).status).toBe(401);
      expect((await api.get('/user', '999.bogus')).status).toBe(401);
    });

    it('PUT /user changes bio, image, email and password; the changes show at once and stay', async () => {
      const res = await api.put('/user', { user: { bio: 'I like to skateboard', image: 'https://i.stack.imgur.com/xHWG8.jpg' } }, jake.token);
      expect(res).toEqual({ status: 200, body: { user: { ...jake, bio: 'I like to skateboard', image: 'https://i.stack.imgur.com/xHWG8.jpg' } } });
      const moved = await api.put('/user', { user: { email: 'jake@new.jake', password: 'newpass' } }, jake.token);
      expect(moved.body.user).toMatchObject({ email: 'jake@new.jake', username: 'jake', bio: 'I like to skateboard' });
      expect((await api.get('/user', jake.token)).body.user.email).toBe('jake@new.jake');
      expect((await api.post('/users/login', { user: { email: 'jake@jake.jake', password: 'jakejake' } })).status).toBe(422);
      expect((await api.post('/users/login', { user: { email: 'jake@new.jake', password: 'newpass' } })).body.user.token).toBe(jake.token);
      const cleared = await api.put('/user', { user: { image: null } }, jake.token);
      expect(cleared.body.user.image).toBeNull();
      expect((await api.put('/user', { user: { bio: 'x' } })).status).toBe(401);
    });
  });

  describe('profiles', () => {
    it('GET /profiles/:username answers anyone; following is false before a follow', async () => {
      celeb = (await api.post('/users', { user: { username: 'celeb', email: 'celeb@x.y', password: 'celebcel' } })).body.user;
      const expected = { profile: { username: 'celeb', bio: null, image: null, following: false } };
      expect(await api.get('/profiles/celeb')).toEqual({ status: 200, body: expected });
      expect(await api.get('/profiles/celeb', jake.token)).toEqual({ status: 200, body: expected });
      expect((await api.get('/profiles/nobody')).status).toBe(404);
    });

    it('POST /profiles/:username/follow follows; the profile says so to the follower only', async () => {
      const res = await api.post('/profiles/celeb/follow', undefined, jake.token);
      expect(res).toEqual({ status: 200, body: { profile: { username: 'celeb', bio: null, image: null, following: true } } });
      expect((await api.post('/profiles/celeb/follow', undefined, jake.token)).body.profile.following).toBe(true);
      expect((await api.get('/profiles/celeb', jake.token)).body.profile.following).toBe(true);
      expect((await api.get('/profiles/celeb')).body.profile.following).toBe(false);
      expect((await api.get('/profiles/jake', celeb.token)).body.profile.following).toBe(false);
      expect((await api.post('/profiles/celeb/follow', undefined)).status).toBe(401);
      expect((await api.post('/profiles/jake/follow', undefined, jake.token)).status).toBe(422);
      expect((await api.post('/profiles/nobody/follow', undefined, jake.token)).status).toBe(404);
    });
  });

  let slug: string;

  describe('articles', () => {
    it('POST /articles creates an article with its tags; the slug comes from the title', async () => {
      const article = { title: 'How to train your dragon', description: 'Ever wonder how?', body: 'You have to believe', tagList: ['training', 'dragons'] };
      const res = await api.post('/articles', { article }, celeb.token);
      expect(res.status).toBe(201);
      expect(res.body.article).toEqual({
        slug: 'how-to-train-your-dragon',
        title: 'How to train your dragon',
        description: 'Ever wonder how?',
        body: 'You have to believe',
        tagList: ['dragons', 'training'],
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
        favorited: false,
        favoritesCount: 0,
        author: { username: 'celeb', bio: null, image: null, following: false },
      });
      slug = res.body.article.slug;
      expect((await api.post('/articles', { article }, celeb.token)).body).toEqual({ errors: { title: ['gives a slug another article has: choose another title'] } });
      expect((await api.post('/articles', { article: { title: 'No body', description: 'd' } }, celeb.token)).body).toEqual({ errors: { body: ["can't be blank"] } });
      expect((await api.post('/articles', { article })).status).toBe(401);
    });

    it('GET /articles/:slug answers anyone; following and favorited depend on who asks', async () => {
      const anonymous = await api.get(`/articles/${slug}`);
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.article).toMatchObject({ slug, favorited: false, favoritesCount: 0, author: { username: 'celeb', following: false } });
      const follower = await api.get(`/articles/${slug}`, jake.token);
      expect(follower.body.article).toEqual({ ...anonymous.body.article, author: { ...anonymous.body.article.author, following: true } });
      expect((await api.get('/articles/no-such-article')).status).toBe(404);
    });

    it('GET /articles lists most recent first, with filters by tag, author and favorited, limit and offset', async () => {
      await api.post('/articles', { article: { title: 'Skateboarding', description: 'Wheels', body: 'Kickflips', tagList: ['skate'] } }, jake.token);
      const all = await api.get('/articles');
      expect(all.status).toBe(200);
      expect(all.body.articlesCount).toBe(2);
      expect(all.body.articles.map((a: { slug: string }) => a.slug)).toEqual(['skateboarding', slug]);
      const slugs = async (query: string, token?: string) => {
        const res = await api.get(`/articles?${query}`, token);
        return [res.body.articlesCount, res.body.articles.map((a: { slug: string }) => a.slug)];
      };
      expect(await slugs('tag=dragons')).toEqual([1, [slug]]);
      expect(await slugs('tag=none')).toEqual([0, []]);
      expect(await slugs('author=jake')).toEqual([1, ['skateboarding']]);
      expect(await slugs('favorited=jake')).toEqual([0, []]);
      expect(await slugs('limit=1')).toEqual([2, ['skateboarding']]);
      expect(await slugs('limit=1&offset=1')).toEqual([2, [slug]]);
      expect((await api.get('/articles?limit=-1')).status).toBe(422);
      const signedIn = await api.get('/articles?author=celeb', jake.token);
      expect(signedIn.body.articles[0].author.following).toBe(true);
    });

    it('GET /articles/feed lists the articles of the authors the viewer follows', async () => {
      const feed = await api.get('/articles/feed', jake.token);
      expect(feed.status).toBe(200);
      expect(feed.body.articlesCount).toBe(1);
      expect(feed.body.articles.map((a: { slug: string }) => a.slug)).toEqual([slug]);
      expect((await api.get('/articles/feed', celeb.token)).body).toEqual({ articles: [], articlesCount: 0 });
      expect((await api.get('/articles/feed')).status).toBe(401);
    });

    it('PUT /articles/:slug lets the author change it; a new title gives a new slug', async () => {
      expect((await api.put(`/articles/${slug}`, { article: { body: 'hijacked' } }, jake.token)).status).toBe(403);
      const before = (await api.get(`/articles/${slug}`)).body.article;
      const res = await api.put(`/articles/${slug}`, { article: { title: 'Did you train your dragon?', body: 'Believe harder' } }, celeb.token);
      expect(res.status).toBe(200);
      expect(res.body.article).toMatchObject({ slug: 'did-you-train-your-dragon', title: 'Did you train your dragon?', body: 'Believe harder', description: 'Ever wonder how?', createdAt: before.createdAt });
      expect(Date.parse(res.body.article.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
      expect((await api.get(`/articles/${slug}`)).status).toBe(404);
      slug = res.body.article.slug;
      expect((await api.get(`/articles/${slug}`)).body.article).toEqual({ ...res.body.article, author: { ...res.body.article.author, following: false } });
    });

    it('POST and DELETE /articles/:slug/favorite change favorited and favoritesCount', async () => {
      const res = await api.post(`/articles/${slug}/favorite`, undefined, jake.token);
      expect(res.status).toBe(200);
      expect(res.body.article).toMatchObject({ slug, favorited: true, favoritesCount: 1 });
      expect((await api.post(`/articles/${slug}/favorite`, undefined, jake.token)).body.article.favoritesCount).toBe(1);
      expect((await api.get(`/articles/${slug}`, jake.token)).body.article).toMatchObject({ favorited: true, favoritesCount: 1 });
      expect((await api.get(`/articles/${slug}`, celeb.token)).body.article).toMatchObject({ favorited: false, favoritesCount: 1 });
      expect((await api.get('/articles?favorited=jake')).body.articles.map((a: { slug: string }) => a.slug)).toEqual([slug]);
      const undone = await api.delete(`/articles/${slug}/favorite`, jake.token);
      expect(undone.status).toBe(200);
      expect(undone.body.article).toMatchObject({ favorited: false, favoritesCount: 0 });
      expect((await api.get(`/articles/${slug}`, jake.token)).body.article).toMatchObject({ favorited: false, favoritesCount: 0 });
      expect((await api.post(`/articles/${slug}/favorite`, undefined)).status).toBe(401);
    });
  });

  describe('comments', () => {
    let commentId: number;

    it('POST /articles/:slug/comments adds a comment; GET lists it for anyone', async () => {
      const res = await api.post(`/articles/${slug}/comments`, { comment: { body: 'Thank you so much!' } }, jake.token);
      expect(res.status).toBe(201);
      expect(res.body.comment).toEqual({
        id: expect.any(Number),
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
        body: 'Thank you so much!',
        author: { username: 'jake', bio: 'I like to skateboard', image: null, following: false },
      });
      commentId = res.body.comment.id;
      const listed = await api.get(`/articles/${slug}/comments`);
      expect(listed).toEqual({ status: 200, body: { comments: [res.body.comment] } });
      expect((await api.get(`/articles/${slug}/comments`, celeb.token)).body.comments[0].author.following).toBe(false);
      expect((await api.post(`/articles/${slug}/comments`, { comment: { body: '' } }, jake.token)).status).toBe(422);
      expect((await api.post('/articles/nothing/comments', { comment: { body: 'x' } }, jake.token)).status).toBe(404);
      expect((await api.post(`/articles/${slug}/comments`, { comment: { body: 'x' } })).status).toBe(401);
    });

    it('DELETE /articles/:slug/comments/:id lets the comment\'s author delete it', async () => {
      const second = (await api.post(`/articles/${slug}/comments`, { comment: { body: 'Me too' } }, celeb.token)).body.comment;
      expect((await api.delete(`/articles/${slug}/comments/${commentId}`, celeb.token)).status).toBe(403);
      expect((await api.delete(`/articles/${slug}/comments/${commentId}`, jake.token)).status).toBe(204);
      expect((await api.get(`/articles/${slug}/comments`)).body.comments.map((c: { id: number }) => c.id)).toEqual([second.id]);
      expect((await api.delete(`/articles/${slug}/comments/${commentId}`, jake.token)).status).toBe(404);
    });
  });

  describe('tags and deletes', () => {
    it('GET /tags lists every tag by name', async () => {
      expect(await api.get('/tags')).toEqual({ status: 200, body: { tags: ['dragons', 'skate', 'training'] } });
    });

    it('DELETE /profiles/:username/follow unfollows; the feed empties', async () => {
      const res = await api.delete('/profiles/celeb/follow', jake.token);
      expect(res).toEqual({ status: 200, body: { profile: { username: 'celeb', bio: null, image: null, following: false } } });
      expect((await api.get('/profiles/celeb', jake.token)).body.profile.following).toBe(false);
      expect((await api.get('/articles/feed', jake.token)).body).toEqual({ articles: [], articlesCount: 0 });
    });

    it('DELETE /articles/:slug lets the author delete it, with its comments', async () => {
      expect((await api.delete(`/articles/${slug}`, jake.token)).status).toBe(403);
      expect((await api.delete(`/articles/${slug}`, celeb.token)).status).toBe(204);
      expect((await api.get(`/articles/${slug}`)).status).toBe(404);
      expect((await api.get(`/articles/${slug}/comments`)).status).toBe(404);
      expect((await api.get('/articles')).body.articles.map((a: { slug: string }) => a.slug)).toEqual(['skateboarding']);
      expect((await api.get('/tags')).body.tags).toEqual(['dragons', 'skate', 'training']);
    });
  });
});
