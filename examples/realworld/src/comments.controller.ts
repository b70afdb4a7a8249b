import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, OptionalAuthGuard, Viewer } from './auth';
import { CommentsService } from './comments.service';
import type { User } from './user.entity';
import type { CommentView } from './views';

@Controller('articles/:slug/comments')
export class CommentsController {
  constructor(private readonly comments: CommentsService) {}

  @Get()
  @UseGuards(OptionalAuthGuard)
  async list(@Param('slug') slug: string, @Viewer() viewer: User | undefined): Promise<{ comments: CommentView[] }> {
    return { comments: await this.comments.list(slug, viewer) };
  }

  @Post()
  @UseGuards(AuthGuard)
  async add(@Param('slug') slug: string, @Body() body: unknown, @Viewer() viewer: User): Promise<{ comment: CommentView }> {
    return { comment: await this.comments.add(slug, body, viewer) };
  }

  @Delete(':id')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  remove(@Param('slug') slug: string, @Param('id', ParseIntPipe) id: number, @Viewer() viewer: User): Promise<void> {
    return this.comments.remove(slug, id, viewer);
  }
}
