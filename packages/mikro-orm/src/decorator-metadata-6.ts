import { MetadataStorage, type EntityMetadata } from '@mikro-orm/core';
import type { DecoratorMetadataReader } from './decorator-metadata';

/** MikroORM 6's static API for it, gone from core in MikroORM 7. */
type Storage6 = { getMetadataFromDecorator?: (cls: Function) => EntityMetadata };

/**
 * What MikroORM 6's decorators recorded on a class: they mark it with `MetadataStorage.PATH_SYMBOL`
 * and keep its metadata in the global storage, which `getMetadataFromDecorator` reads.
 * Test: `decorator-metadata.mikro-orm-6.test.ts` fails when this moves.
 */
export const decoratorMetadata6: DecoratorMetadataReader = {
  major: 6,
  supported: () => typeof (MetadataStorage as unknown as Storage6).getMetadataFromDecorator === 'function',
  read(cls) {
    if (!Object.hasOwn(cls, MetadataStorage.PATH_SYMBOL)) return undefined;
    return (MetadataStorage as unknown as Required<Storage6>).getMetadataFromDecorator(cls);
  },
};
