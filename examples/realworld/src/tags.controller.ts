import { EntityManager } from '@mikro-orm/postgresql';
import { Controller, Get } from '@nestjs/common';
import { Tag } from './tag.entity';

@Controller('tags')
export class TagsController {
  constructor(private readonly em: EntityManager) {}

  /** Every tag, by name. */
  @Get()
  async list(): Promise<{ tags: string[] }> {
    const tags = await this.em.find(Tag, {}, { orderBy: { name: 'asc' } });
    return { tags: tags.map((tag) => tag.name) };
  }
}
