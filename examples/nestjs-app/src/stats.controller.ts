import { Controller, Delete, Get, HttpCode } from '@nestjs/common';
import { QueryCounter } from './query-counter';
import { TierStats } from './tier-stats';

/** Where reads were served since the last reset, and how many SQL statements ran. */
@Controller('stats')
export class StatsController {
  constructor(
    private readonly queries: QueryCounter,
    private readonly tiers: TierStats,
  ) {}

  @Get()
  get(): { queries: Record<string, number>; tiers: ReturnType<TierStats['snapshot']> } {
    return { queries: this.queries.snapshot(), tiers: this.tiers.snapshot() };
  }

  @Delete()
  @HttpCode(204)
  reset(): void {
    this.queries.reset();
    this.tiers.reset();
  }
}
