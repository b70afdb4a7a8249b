/**
 * The request sequence of differential.integration.test.ts: every write the API has, interleaved
 * with reads signed in and anonymous, by three users. Steps are data; what a later step needs from
 * an earlier answer (tokens, comment ids) is kept per run in `Vars`.
 */

/** What one run remembers between steps. */
export interface Vars {
  tokens: Record<string, string>;
  comments: Record<string, number>;
}

export interface Step {
  /** Method and route template, plus who asks for reads: the rows of the statement table. */
  readonly kind: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string | ((vars: Vars) => string);
  /** The user (by test name) whose token signs the request; none: anonymous. */
  readonly as?: string;
  readonly body?: unknown;
  /**
   * A by-key read (current user, a profile, an article by slug) repeated with no write in between:
   * the target for these is 0 statements with the cache.
   */
  readonly warm?: boolean;
  readonly keep?: (body: any, vars: Vars) => void;
}

const user = (name: string) => ({ user: { username: name, email: `${name}@realworld.test`, password: `${name}-password` } });
const article = (title: string, tagList: string[]) => ({ article: { title, description: `About ${title}`, body: `All on ${title}.`, tagList } });

function register(name: string): Step {
  return { kind: 'POST /users', method: 'POST', path: '/users', body: user(name), keep: (body, vars) => (vars.tokens[name] = body.user.token) };
}

function read(route: string, path: string, as?: string, warm?: boolean): Step {
  return { kind: `GET ${route}${as === undefined ? ' (anonymous)' : ''}`, method: 'GET', path, as, warm };
}

function write(method: Step['method'], route: string, path: string | ((vars: Vars) => string), as: string | undefined, body?: unknown, keep?: Step['keep']): Step {
  return { kind: `${method} ${route}`, method, path, as, body, keep };
}

const profile = (username: string, as?: string, warm?: boolean) => read('/profiles/:username', `/profiles/${username}`, as, warm);
const articleBySlug = (slug: string, as?: string, warm?: boolean) => read('/articles/:slug', `/articles/${slug}`, as, warm);
const currentUser = (as: string, warm?: boolean) => read('/user', '/user', as, warm);
const comment = (label: string, slug: string, as: string, text: string) =>
  write('POST', '/articles/:slug/comments', `/articles/${slug}/comments`, as, { comment: { body: text } }, (body, vars) => (vars.comments[label] = body.comment.id));

export const SCENARIO: readonly Step[] = [
  register('jake'),
  register('celeb'),
  register('ann'),
  currentUser('jake'),
  currentUser('jake', true),
  write('POST', '/users/login', '/users/login', undefined, { user: { email: 'celeb@realworld.test', password: 'celeb-password' } }),
  write('POST', '/users/login', '/users/login', undefined, { user: { email: 'celeb@realworld.test', password: 'wrong' } }),
  read('/user', '/user'),
  profile('celeb'),
  profile('celeb', undefined, true),
  profile('celeb', 'jake'),
  profile('celeb', 'jake', true),
  write('POST', '/profiles/:username/follow', '/profiles/celeb/follow', 'jake'),
  write('POST', '/profiles/:username/follow', '/profiles/celeb/follow', 'ann'),
  profile('celeb', 'jake'),
  profile('celeb', 'ann'),
  profile('celeb'),
  write('POST', '/articles', '/articles', 'celeb', article('Dragons', ['dragons', 'training'])),
  write('POST', '/articles', '/articles', 'jake', article('Skateboarding', ['skate'])),
  write('POST', '/articles', '/articles', 'celeb', article('Eagles', ['birds', 'training'])),
  write('POST', '/articles', '/articles', 'celeb', article('Dragons', ['dragons'])),
  articleBySlug('dragons'),
  articleBySlug('dragons', undefined, true),
  articleBySlug('dragons', 'jake'),
  articleBySlug('dragons', 'jake', true),
  read('/articles', '/articles'),
  read('/articles', '/articles?tag=training'),
  read('/articles', '/articles?author=celeb', 'jake'),
  read('/articles', '/articles?limit=1&offset=1', 'ann'),
  read('/articles/feed', '/articles/feed', 'jake'),
  read('/articles/feed', '/articles/feed', 'celeb'),
  write('POST', '/articles/:slug/favorite', '/articles/dragons/favorite', 'jake'),
  write('POST', '/articles/:slug/favorite', '/articles/dragons/favorite', 'ann'),
  articleBySlug('dragons', 'jake'),
  articleBySlug('dragons'),
  articleBySlug('dragons', 'celeb'),
  read('/articles', '/articles?favorited=jake', 'ann'),
  comment('jake on dragons', 'dragons', 'jake', 'Thank you so much!'),
  comment('ann on dragons', 'dragons', 'ann', 'Me too.'),
  comment('celeb on eagles', 'eagles', 'celeb', 'First!'),
  read('/articles/:slug/comments', '/articles/dragons/comments'),
  read('/articles/:slug/comments', '/articles/dragons/comments', 'celeb'),
  write('PUT', '/user', '/user', 'celeb', { user: { bio: 'I train dragons', image: 'https://realworld.test/celeb.png' } }),
  profile('celeb'),
  profile('celeb', 'jake'),
  articleBySlug('dragons', 'jake'),
  read('/articles/feed', '/articles/feed', 'ann'),
  write('PUT', '/articles/:slug', '/articles/dragons', 'celeb', { article: { title: 'Dragons, trained', body: 'Believe harder.' } }),
  write('PUT', '/articles/:slug', '/articles/dragons-trained', 'jake', { article: { body: 'Hijacked.' } }),
  articleBySlug('dragons'),
  articleBySlug('dragons-trained'),
  articleBySlug('dragons-trained', 'ann'),
  articleBySlug('dragons-trained', 'ann', true),
  read('/articles', '/articles?tag=dragons', 'jake'),
  write('DELETE', '/articles/:slug/comments/:id', (vars) => `/articles/dragons-trained/comments/${vars.comments['jake on dragons']}`, 'ann'),
  write('DELETE', '/articles/:slug/comments/:id', (vars) => `/articles/dragons-trained/comments/${vars.comments['jake on dragons']}`, 'jake'),
  read('/articles/:slug/comments', '/articles/dragons-trained/comments', 'jake'),
  write('DELETE', '/articles/:slug/favorite', '/articles/dragons-trained/favorite', 'ann'),
  articleBySlug('dragons-trained', 'ann'),
  articleBySlug('dragons-trained'),
  write('DELETE', '/profiles/:username/follow', '/profiles/celeb/follow', 'ann'),
  profile('celeb', 'ann'),
  profile('celeb', 'ann', true),
  read('/articles/feed', '/articles/feed', 'ann'),
  read('/articles/feed', '/articles/feed', 'jake'),
  write('PUT', '/user', '/user', 'jake', { user: { username: 'jacob', email: 'jacob@realworld.test' } }),
  profile('jake'),
  profile('jacob'),
  currentUser('jake'),
  currentUser('jake', true),
  write('POST', '/users/login', '/users/login', undefined, { user: { email: 'jake@realworld.test', password: 'jake-password' } }),
  write('POST', '/users/login', '/users/login', undefined, { user: { email: 'jacob@realworld.test', password: 'jake-password' } }),
  articleBySlug('skateboarding', 'celeb'),
  write('DELETE', '/articles/:slug', '/articles/eagles', 'jake'),
  write('DELETE', '/articles/:slug', '/articles/eagles', 'celeb'),
  articleBySlug('eagles'),
  read('/articles/:slug/comments', '/articles/eagles/comments'),
  read('/articles', '/articles'),
  read('/tags', '/tags'),
  currentUser('ann'),
  write('PUT', '/user', '/user', 'ann', { user: { email: 'ann@elsewhere.test', password: 'ann-new' } }),
  currentUser('ann'),
  currentUser('ann', true),
  write('POST', '/users/login', '/users/login', undefined, { user: { email: 'ann@elsewhere.test', password: 'ann-new' } }),
  profile('ann', 'celeb'),
];
