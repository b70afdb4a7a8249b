import { Body, Controller, Get, HttpCode, Post, Put, UseGuards } from '@nestjs/common';
import { AuthGuard, Viewer } from './auth';
import type { User } from './user.entity';
import { UsersService } from './users.service';
import type { UserView } from './views';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post('users')
  async register(@Body() body: unknown): Promise<{ user: UserView }> {
    return { user: await this.users.register(body) };
  }

  @Post('users/login')
  @HttpCode(200)
  async login(@Body() body: unknown): Promise<{ user: UserView }> {
    return { user: await this.users.login(body) };
  }

  /** The signed-in user, loaded by the guard. */
  @Get('user')
  @UseGuards(AuthGuard)
  current(@Viewer() viewer: User): { user: UserView } {
    return { user: this.users.view(viewer) };
  }

  @Put('user')
  @UseGuards(AuthGuard)
  async update(@Viewer() viewer: User, @Body() body: unknown): Promise<{ user: UserView }> {
    return { user: await this.users.update(viewer, body) };
  }
}
