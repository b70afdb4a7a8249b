import 'reflect-metadata';
import {
  ConfigurationError,
  DuplicateNameError,
  getMetadata,
  NotStockpyleClassError,
  ProcessMemoryStore,
  registerMetadataResolver,
  Stockpyle,
  UnknownKeyError,
} from '@stockpyle/core';

describe('@Stockpyle', () => {
  describe('decoration', () => {
    it('records keys: single attributes and tuples, sorted for lookup, declared order kept', () => {
      @Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'meta.Foo' })
      class Foo {}
      const meta = getMetadata(Foo);
      expect(meta.name).toBe('meta.Foo');
      expect(meta.keys.map((k) => k.declared)).toEqual([['id'], ['zap', 'bar']]);
      expect(meta.keys[1]!.attrs).toEqual(['bar', 'zap']);
    });

    it.each([
      ['an empty key list', { keys: [] }],
      ['an empty tuple', { keys: [[]] }],
      ['a non-string attribute', { keys: [1] }],
      ['a repeated attribute', { keys: [['a', 'a']] }],
      ['the same key twice', { keys: ['a', ['a']] }],
    ])('throws ConfigurationError for %s', (_label, options) => {
      expect(() => Stockpyle(options as never)(class X {})).toThrow(ConfigurationError);
    });

    it('throws DuplicateNameError when two different classes take one name, at decoration time', () => {
      @Stockpyle({ keys: ['id'], name: 'meta.Dup' })
      class A {}
      expect(A).toBeDefined();
      expect(() => Stockpyle({ keys: ['id'], name: 'meta.Dup' })(class B {})).toThrow(DuplicateNameError);
    });

    it('lets a class be decorated again under its own name (hot reload of the same class)', () => {
      class Same {}
      Stockpyle({ keys: ['id'], name: 'meta.Same' })(Same);
      expect(() => Stockpyle({ keys: ['code'], name: 'meta.Same' })(Same)).not.toThrow();
      expect(getMetadata(Same).keys[0]!.attrs).toEqual(['code']);
    });
  });

  describe('collections', () => {
    it('records declared collections once each, inherited by a subclass, none by default', () => {
      @Stockpyle({ keys: ['id'], name: 'meta.CollOwner', collections: ['comments', 'tags', 'comments'] })
      class CollOwner {
        id = 1;
      }
      class CollChild extends CollOwner {}
      @Stockpyle({ keys: ['id'], name: 'meta.NoColl' })
      class NoColl {
        id = 1;
      }
      expect(getMetadata(CollOwner).collections).toEqual(['comments', 'tags']);
      expect(getMetadata(CollChild).collections).toEqual(['comments', 'tags']);
      expect(getMetadata(NoColl).collections).toEqual([]);
    });

    it('throws ConfigurationError for collections that are not property names', () => {
      expect(() => Stockpyle({ keys: ['id'], name: 'meta.BadColl', collections: [''] })(class BadColl {})).toThrow(ConfigurationError);
      expect(() => Stockpyle({ keys: ['id'], name: 'meta.BadColl2', collections: 'comments' as never })(class BadColl2 {})).toThrow(/collections must be an array/);
    });
  });

  describe('inheritance', () => {
    @Stockpyle({ keys: ['plate'], name: 'meta.Vehicle' })
    class Vehicle {
      constructor(public plate = 'p') {}
    }
    class Bike extends Vehicle {}
    @Stockpyle({ name: 'meta.Bus' })
    class Bus extends Vehicle {}

    it('an undecorated subclass inherits keys and is registered under its own name', () => {
      const meta = getMetadata(Bike);
      expect(meta.name).toBe('Bike');
      expect(meta.keys[0]!.attrs).toEqual(['plate']);
      expect(meta.bases.map((b) => b.name)).toEqual(['meta.Vehicle']);
    });

    it('@Stockpyle() on a subclass inherits keys and sets the name', () => {
      expect(getMetadata(Bus).name).toBe('meta.Bus');
      expect(getMetadata(Bus).keys[0]!.attrs).toEqual(['plate']);
    });
  });

  describe('getMetadata()', () => {
    it('throws NotStockpyleClassError for an undecorated class, naming it', () => {
      class Plain {}
      expect(() => getMetadata(Plain)).toThrow(NotStockpyleClassError);
      expect(() => getMetadata(Plain)).toThrow(/Plain is not a stockpyle class/);
    });

    it('throws ConfigurationError for @Stockpyle() without keys when nothing supplies them', () => {
      @Stockpyle({ name: 'meta.NoKeys' })
      class NoKeys {}
      expect(() => getMetadata(NoKeys)).toThrow(/declares no keys/);
    });

    it('uses keys a registered resolver supplies (how the ORM package maps primary keys)', () => {
      class Row {
        static primary = ['uuid'];
      }
      Stockpyle({ name: 'meta.Row' })(Row);
      registerMetadataResolver((cls) => ((cls as unknown as typeof Row).primary ? { keys: [(cls as unknown as typeof Row).primary] } : undefined));
      expect(getMetadata(Row).keys[0]!.attrs).toEqual(['uuid']);
    });

    it('shapeFor() names the declared keys when a query matches none', () => {
      @Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'meta.Q' })
      class Q {}
      expect(() => getMetadata(Q).shapeFor({ zap: 1 })).toThrow(UnknownKeyError);
      expect(() => getMetadata(Q).shapeFor({ zap: 1 })).toThrow("{ zap } is not a key of meta.Q; its declared keys are 'id', ['zap', 'bar']");
    });

    it('shares one registry between two copies of the package', () => {
      let other: typeof import('../src/metadata') | undefined;
      jest.isolateModules(() => {
        other = require('../src/metadata') as typeof import('../src/metadata');
      });
      @Stockpyle({ keys: ['id'], name: 'meta.Shared' })
      class Shared {}
      expect(other!.getMetadata(Shared).name).toBe('meta.Shared');
      expect(other!.getMetadata).not.toBe(getMetadata);
    });
  });
});

describe('stores and bad input', () => {
  it('put() of an undecorated object throws NotStockpyleClassError', async () => {
    const store = new ProcessMemoryStore();
    await expect(store.put({ id: 1 })).rejects.toBeInstanceOf(NotStockpyleClassError);
    await expect(store.put(null as never)).rejects.toBeInstanceOf(NotStockpyleClassError);
  });

  it('every error carries a stable code', () => {
    expect(new UnknownKeyError('x').code).toBe('E_UNKNOWN_KEY');
    expect(new ConfigurationError('x').code).toBe('E_CONFIGURATION');
    expect(NotStockpyleClassError.forClass(class Z {}).code).toBe('E_NOT_STOCKPYLE_CLASS');
    expect(new ConfigurationError('x').name).toBe('ConfigurationError');
  });
});
