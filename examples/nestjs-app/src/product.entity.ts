import { OptionalProps } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { Stockpyle } from '@stockpyle/core';

/**
 * A catalogue entry. `id` is the primary key; a vendor's SKU identifies a product too, so it is
 * declared as a second stockpyle key: reads by either key are served from the caches.
 */
@Stockpyle({ keys: ['id', ['vendor', 'sku']] })
@Entity({ tableName: 'nestjs_app_product' })
@Unique({ properties: ['vendor', 'sku'] })
export class Product {
  /** Set by the database or by default: not required by `em.create`. */
  declare [OptionalProps]?: 'id' | 'updatedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 64 })
  vendor!: string;

  @Property({ type: 'string', length: 64 })
  sku!: string;

  @Property({ type: 'string' })
  name!: string;

  /** In cents, so prices add up exactly. */
  @Property({ type: 'integer' })
  priceCents!: number;

  @Property({ type: 'Date', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
