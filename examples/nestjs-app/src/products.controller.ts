import { BadRequestException, Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, ParseIntPipe, Patch, Post, Query } from '@nestjs/common';
import { ProductsService, toView, type ProductView, type QuoteLine } from './products.service';

@Controller()
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Post('products')
  async create(@Body() body: unknown): Promise<ProductView> {
    return toView(await this.products.create(body));
  }

  /** `GET /products?ids=1,2,3`: one entry per id, `null` where there is none. */
  @Get('products')
  async findMany(@Query('ids') ids = ''): Promise<(ProductView | null)[]> {
    const list = ids === '' ? [] : ids.split(',').map(Number);
    if (list.some((id) => !Number.isInteger(id))) throw new BadRequestException('ids must be a comma-separated list of whole numbers');
    return (await this.products.findMany(list)).map((p) => (p === undefined ? null : toView(p)));
  }

  @Get('products/:id')
  async findById(@Param('id', ParseIntPipe) id: number): Promise<ProductView> {
    return toView(await this.#found(this.products.find({ id }), `no product ${id}`));
  }

  /** The alternate key: a vendor's SKU. */
  @Get('vendors/:vendor/products/:sku')
  async findBySku(@Param('vendor') vendor: string, @Param('sku') sku: string): Promise<ProductView> {
    return toView(await this.#found(this.products.find({ vendor, sku }), `no product ${sku} from ${vendor}`));
  }

  @Patch('products/:id')
  async update(@Param('id', ParseIntPipe) id: number, @Body() body: unknown): Promise<ProductView> {
    return toView(await this.products.update(id, body));
  }

  @Delete('products/:id')
  @HttpCode(204)
  remove(@Param('id', ParseIntPipe) id: number): Promise<void> {
    return this.products.remove(id);
  }

  /** Prices `{ lines: [{ id, quantity } | { vendor, sku, quantity }] }`. */
  @Post('quotes')
  @HttpCode(200)
  quote(@Body() body: { lines?: QuoteLine[] }) {
    return this.products.quote(Array.isArray(body?.lines) ? body.lines : []);
  }

  async #found<T>(lookup: Promise<T | undefined>, message: string): Promise<T> {
    const found = await lookup;
    if (found === undefined) throw new NotFoundException(message);
    return found;
  }
}
