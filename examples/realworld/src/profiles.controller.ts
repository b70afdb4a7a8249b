import { Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, OptionalAuthGuard, Viewer } from './auth';
import { ProfilesService } from './profiles.service';
import type { User } from './user.entity';
import type { ProfileView } from './views';

@Controller('profiles/:username')
export class ProfilesController {
  constructor(private readonly profiles: ProfilesService) {}

  @Get()
  @UseGuards(OptionalAuthGuard)
  async get(@Param('username') username: string, @Viewer() viewer: User | undefined): Promise<{ profile: ProfileView }> {
    return { profile: await this.profiles.get(username, viewer) };
  }

  @Post('follow')
  @HttpCode(200)
  @UseGuards(AuthGuard)
  async follow(@Param('username') username: string, @Viewer() viewer: User): Promise<{ profile: ProfileView }> {
    return { profile: await this.profiles.follow(username, viewer) };
  }

  @Delete('follow')
  @UseGuards(AuthGuard)
  async unfollow(@Param('username') username: string, @Viewer() viewer: User): Promise<{ profile: ProfileView }> {
    return { profile: await this.profiles.unfollow(username, viewer) };
  }
}
