import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { decoratorMetadataReader } from '../src/decorator-metadata';

// MikroORM 7's decorators for `experimentalDecorators`; `es-decorators.mikro-orm-7.test.ts` has the standard ones.
@Entity({ tableName: 'adapter7_part' })
class Part {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  name!: string;
}

class SubPart extends Part {}

class Undecorated {}

describe('decoratorMetadataReader() on MikroORM 7', () => {
  it('is the MikroORM 7 reader: MetadataStorage.META_SYMBOL is still there', () => {
    expect(decoratorMetadataReader().major).toBe(7);
  });

  it('read(cls) gives what the decorators recorded on the class, before any ORM discovered it', () => {
    const meta = decoratorMetadataReader().read(Part);
    expect(meta?.class).toBe(Part);
    expect(meta?.properties.id?.primary).toBe(true);
    expect(meta?.properties.name?.primary).toBeFalsy();
  });

  it('read(cls) gives nothing for an undecorated class, nor for a subclass without decorators of its own', () => {
    expect(decoratorMetadataReader().read(Undecorated)).toBeUndefined();
    expect(decoratorMetadataReader().read(SubPart)).toBeUndefined();
  });
});
