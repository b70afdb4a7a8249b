import { MetadataStorage, type EntityMetadata } from '@mikro-orm/core';
import type { DecoratorMetadataReader } from './decorator-metadata';

/** The key MikroORM 7 keeps a class's decorator metadata under, on the class itself. */
type Storage7 = { META_SYMBOL?: symbol };

/**
 * What MikroORM 7's decorators (`@mikro-orm/decorators/legacy` and `/es` alike) recorded on a class:
 * both put its metadata on the class as an own property, `MetadataStorage.META_SYMBOL`.
 * Test: `decorator-metadata.mikro-orm-7.test.ts` fails when this moves.
 */
export const decoratorMetadata7: DecoratorMetadataReader = {
  major: 7,
  supported: () => typeof (MetadataStorage as unknown as Storage7).META_SYMBOL === 'symbol',
  read(cls) {
    const key = (MetadataStorage as unknown as Required<Storage7>).META_SYMBOL;
    return Object.hasOwn(cls, key) ? ((cls as unknown as Record<symbol, EntityMetadata>)[key] ?? undefined) : undefined;
  },
};
