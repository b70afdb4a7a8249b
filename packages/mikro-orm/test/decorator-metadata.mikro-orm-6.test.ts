import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { decoratorMetadataReader } from '../src/decorator-metadata';

// On MikroORM 6, `@mikro-orm/decorators/legacy` is aliased to `@mikro-orm/core` (stacks/previous).
@Entity({ tableName: 'adapter6_part' })
class Part {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  name!: string;
}

class SubPart extends Part {}

class Undecorated {}

describe('decoratorMetadataReader() on MikroORM 6', () => {
  it('is the MikroORM 6 reader: MetadataStorage.getMetadataFromDecorator is still there', () => {
    expect(decoratorMetadataReader().major).toBe(6);
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
