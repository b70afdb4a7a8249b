import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, NotFoundException } from '@nestjs/common';
import { invalid } from './input';
import { User } from './user.entity';
import { profileView, type ProfileView } from './views';

/** Profiles and follows. */
@Injectable()
export class ProfilesService {
  constructor(private readonly em: EntityManager) {}

  async get(username: string, viewer: User | undefined): Promise<ProfileView> {
    return profileView(await this.#find(username, viewer !== undefined), viewer);
  }

  async follow(username: string, viewer: User): Promise<ProfileView> {
    const user = await this.#find(username, true);
    if (user === viewer) throw invalid('username', 'is you: you cannot follow yourself');
    if (!user.followers.contains(viewer)) viewer.following.add(user);
    await this.em.flush();
    return profileView(user, viewer);
  }

  async unfollow(username: string, viewer: User): Promise<ProfileView> {
    const user = await this.#find(username, true);
    await viewer.following.init();
    viewer.following.remove(user);
    await this.em.flush();
    return profileView(user, viewer);
  }

  /** `followers` only when someone asks (to tell `following`). */
  async #find(username: string, withFollowers: boolean): Promise<User> {
    const user = await this.em.findOne(User, { username }, { populate: withFollowers ? ['followers'] : [] });
    if (user === null) throw new NotFoundException(`no user ${username}`);
    return user;
  }
}
