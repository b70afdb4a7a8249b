import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ArticlesService } from './articles.service';
import { AuthGuard, OptionalAuthGuard, Viewer } from './auth';
import { page } from './input';
import type { User } from './user.entity';
import type { ArticleView } from './views';

type ArticleList = { articles: ArticleView[]; articlesCount: number };

@Controller('articles')
export class ArticlesController {
  constructor(private readonly articles: ArticlesService) {}

  /** `?tag=&author=&favorited=&limit=&offset=` */
  @Get()
  @UseGuards(OptionalAuthGuard)
  list(@Query() query: Record<string, string | undefined>, @Viewer() viewer: User | undefined): Promise<ArticleList> {
    const { limit, offset } = page(query.limit, query.offset);
    return this.articles.list({ tag: query.tag, author: query.author, favorited: query.favorited }, limit, offset, viewer);
  }

  /** Declared before `:slug`, so `feed` is not taken for a slug. */
  @Get('feed')
  @UseGuards(AuthGuard)
  feed(@Query('limit') limit: string | undefined, @Query('offset') offset: string | undefined, @Viewer() viewer: User): Promise<ArticleList> {
    const paging = page(limit, offset);
    return this.articles.feed(viewer, paging.limit, paging.offset);
  }

  @Get(':slug')
  @UseGuards(OptionalAuthGuard)
  async get(@Param('slug') slug: string, @Viewer() viewer: User | undefined): Promise<{ article: ArticleView }> {
    return { article: await this.articles.get(slug, viewer) };
  }

  @Post()
  @UseGuards(AuthGuard)
  async create(@Body() body: unknown, @Viewer() viewer: User): Promise<{ article: ArticleView }> {
    return { article: await this.articles.create(body, viewer) };
  }

  @Put(':slug')
  @UseGuards(AuthGuard)
  async update(@Param('slug') slug: string, @Body() body: unknown, @Viewer() viewer: User): Promise<{ article: ArticleView }> {
    return { article: await this.articles.update(slug, body, viewer) };
  }

  @Delete(':slug')
  @HttpCode(204)
  @UseGuards(AuthGuard)
  remove(@Param('slug') slug: string, @Viewer() viewer: User): Promise<void> {
    return this.articles.remove(slug, viewer);
  }

  @Post(':slug/favorite')
  @HttpCode(200)
  @UseGuards(AuthGuard)
  async favorite(@Param('slug') slug: string, @Viewer() viewer: User): Promise<{ article: ArticleView }> {
    return { article: await this.articles.favorite(slug, viewer) };
  }

  @Delete(':slug/favorite')
  @UseGuards(AuthGuard)
  async unfavorite(@Param('slug') slug: string, @Viewer() viewer: User): Promise<{ article: ArticleView }> {
    return { article: await this.articles.unfavorite(slug, viewer) };
  }
}
