import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/es';
import { helper } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { decodeRecord, encodeRecord, getMetadata, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import '@stockpyle/mikro-orm';
import { decoratorMetadataReader } from '../src/decorator-metadata';

// Compiled with standard (TC39) decorators, not `experimentalDecorators` (jest.config.ts,
// tsconfig.es-decorators.json): MikroORM 7's `@mikro-orm/decorators/es`, and `@Stockpyle` as one.
@Stockpyle({ name: 'mo.es.Lamp' })
@Entity({ tableName: 'es_lamp' })
class Lamp {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  color!: string;

  @Property({ type: 'Date' })
  madeAt!: Date;
}

/** What a tier outside the process gives back: encode, then decode. */
function roundTrip(obj: object): unknown {
  const record = decodeRecord(encodeRecord({ kind: 'value', obj, expiresAt: 0 }));
  return record.kind === 'value' ? record.obj : record;
}

const lamp = (id: number): Lamp => Object.assign(new Lamp(), { id, color: `c${id}`, madeAt: new Date(Date.UTC(2026, 0, id)) });

describe('MikroORM 7 standard decorators (@mikro-orm/decorators/es)', () => {
  it('the MikroORM 7 reader finds what they recorded', () => {
    const meta = decoratorMetadataReader().read(Lamp);
    expect(decoratorMetadataReader().major).toBe(7);
    expect(meta?.class).toBe(Lamp);
    expect(meta?.properties.id?.primary).toBe(true);
  });

  it('@Stockpyle() without keys uses the primary key, and a tier holds the entity before MikroORM.init', async () => {
    expect(getMetadata(Lamp).keys.map((k) => k.declared)).toEqual([['id']]);
    const store = new ProcessMemoryStore();
    await store.put(lamp(1));
    expect(await store.get(Lamp, { id: 1 })).toEqual(lamp(1));
    const decoded = roundTrip(lamp(2));
    expect(decoded).toBeInstanceOf(Lamp);
    expect(decoded).toEqual(lamp(2));
  });

  describe('once MikroORM discovered the class', () => {
    let orm: MikroORM;
    // MikroORM 7 connects at the first query: nothing here queries.
    beforeAll(async () => {
      orm = await MikroORM.init({ clientUrl: 'postgresql://nobody@127.0.0.1:1/none', entities: [Lamp], allowGlobalContext: false });
    });
    afterAll(async () => {
      await orm.close(true);
    });

    it('a cache tier gives back an instance built by the entity factory, its Date a Date', () => {
      const entity = orm.em.fork().create(Lamp, lamp(3));
      const decoded = roundTrip(entity) as Lamp;
      expect(decoded).toBeInstanceOf(Lamp);
      expect(helper(decoded).__initialized).toBe(true);
      expect(decoded.madeAt).toEqual(lamp(3).madeAt);
      expect(decoded.color).toBe('c3');
    });
  });
});
