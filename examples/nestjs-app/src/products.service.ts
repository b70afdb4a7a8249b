import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { KeyQuery, Store } from '@stockpyle/core';
import { InjectStore } from '@stockpyle/nestjs';
import { Product } from './product.entity';

/** The fields a client may set. */
export interface ProductInput {
  vendor: string;
  sku: string;
  name: string;
  priceCents: number;
}

/** A product as the API returns it. */
export type ProductView = Pick<Product, 'id' | 'vendor' | 'sku' | 'name' | 'priceCents' | 'updatedAt'>;

/** One line of a quote: a product by either of its keys, and a quantity. */
export type QuoteLine = ({ id: number } | { vendor: string; sku: string }) & { quantity: number };

const FIELDS = { vendor: 'string', sku: 'string', name: 'string', priceCents: 'number' } as const;

/** Checks a request body; `partial` for PATCH, where every field is optional. */
function checkInput(body: unknown, partial: boolean): Partial<ProductInput> {
  if (body === null || typeof body !== 'object') throw new BadRequestException('the body must be a JSON object');
  const input: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(FIELDS)) {
    const value = (body as Record<string, unknown>)[field];
    if (value === undefined) {
      if (!partial) throw new BadRequestException(`${field} is required`);
      continue;
    }
    if (typeof value !== type || (type === 'string' && (value as string).length === 0) || (type === 'number' && !Number.isInteger(value))) {
      throw new BadRequestException(`${field} must be a ${type === 'number' ? 'whole number' : 'non-empty string'}`);
    }
    input[field] = value;
  }
  return input;
}

export function toView(p: Product): ProductView {
  return { id: p.id, vendor: p.vendor, sku: p.sku, name: p.name, priceCents: p.priceCents, updatedAt: p.updatedAt };
}

/**
 * Reads go through the store chain (per-request tier, process memory, Redis, then PostgreSQL);
 * writes go through MikroORM's unit of work, and the StockpyleSubscriber brings the caches up to
 * date once the transaction commits.
 */
@Injectable()
export class ProductsService {
  constructor(
    @InjectStore() private readonly store: Store,
    private readonly em: EntityManager,
  ) {}

  find(query: KeyQuery<Product>): Promise<Product | undefined> {
    return this.store.get(Product, query);
  }

  /** One round trip per tier for all ids; `undefined` where there is no such product. */
  findMany(ids: readonly number[]): Promise<(Product | undefined)[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.store.batchGet(Product, ids.map((id) => ({ id })));
  }

  async create(body: unknown): Promise<Product> {
    const product = this.em.create(Product, checkInput(body, false) as ProductInput);
    await this.#flush();
    return product;
  }

  /** Changes any field, key attributes included: the caches drop the old key. */
  async update(id: number, body: unknown): Promise<Product> {
    const changes = checkInput(body, true);
    const product = await this.em.findOne(Product, { id });
    if (product === null) throw new NotFoundException(`no product ${id}`);
    this.em.assign(product, changes);
    await this.#flush();
    return product;
  }

  async remove(id: number): Promise<void> {
    const product = await this.em.findOne(Product, { id });
    if (product === null) throw new NotFoundException(`no product ${id}`);
    await this.em.remove(product).flush();
  }

  /**
   * Prices a list of lines. Lines are looked up one after the other, as code that walks an order
   * would: a product named twice, by either key, is read once and then served by the per-request tier.
   */
  async quote(lines: readonly QuoteLine[]): Promise<{ lines: { product: ProductView; quantity: number; totalCents: number }[]; totalCents: number }> {
    const priced = [];
    for (const line of lines) {
      const query = 'id' in line ? { id: line.id } : { vendor: line.vendor, sku: line.sku };
      const product = await this.store.get(Product, query);
      if (product === undefined) throw new NotFoundException(`no product ${JSON.stringify(query)}`);
      priced.push({ product: toView(product), quantity: line.quantity, totalCents: product.priceCents * line.quantity });
    }
    return { lines: priced, totalCents: priced.reduce((sum, l) => sum + l.totalCents, 0) };
  }

  async #flush(): Promise<void> {
    try {
      await this.em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        this.em.clear();
        throw new ConflictException('a product with this vendor and sku exists already');
      }
      throw error;
    }
  }
}
