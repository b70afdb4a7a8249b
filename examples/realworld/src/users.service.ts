import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from './app-config';
import { signToken } from './auth';
import { bodyOf, invalid } from './input';
import { hashPassword, verifyPassword } from './password';
import { User } from './user.entity';
import { userView, type UserView } from './views';

/** Registration, login and the signed-in user's own account. */
@Injectable()
export class UsersService {
  constructor(
    private readonly em: EntityManager,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async register(body: unknown): Promise<UserView> {
    const input = bodyOf(body, 'user', { username: 'string', email: 'string', password: 'string' });
    await this.#checkFree(input.email, input.username);
    const user = this.em.create(User, { email: input.email, username: input.username, passwordHash: await hashPassword(input.password) });
    await this.em.flush();
    return this.view(user);
  }

  async login(body: unknown): Promise<UserView> {
    const input = bodyOf(body, 'user', { email: 'string', password: 'string' });
    const user = await this.em.findOne(User, { email: input.email });
    if (user === null || !(await verifyPassword(input.password, user.passwordHash))) throw invalid('email or password', 'is invalid');
    return this.view(user);
  }

  /** Changes any of email, username, password, bio, image; bio and image may be set to null. */
  async update(viewer: User, body: unknown): Promise<UserView> {
    const input = bodyOf(body, 'user', { email: 'string?', username: 'string?', password: 'string?', bio: 'string|null', image: 'string|null' });
    await this.#checkFree(input.email === viewer.email ? undefined : input.email, input.username === viewer.username ? undefined : input.username);
    const { password, ...changes } = input;
    this.em.assign(viewer, Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)));
    if (password !== undefined) viewer.passwordHash = await hashPassword(password);
    await this.em.flush();
    return this.view(viewer);
  }

  view(user: User): UserView {
    return userView(user, signToken(user.id, this.config.authSecret));
  }

  async #checkFree(email: string | undefined, username: string | undefined): Promise<void> {
    if (email !== undefined && (await this.em.findOne(User, { email })) !== null) throw invalid('email', 'has already been taken');
    if (username !== undefined && (await this.em.findOne(User, { username })) !== null) throw invalid('username', 'has already been taken');
  }
}
