import { Stockpyle } from '../metadata';
import type { Class } from '../types';

/**
 * The classes the contract suite stores: `Foo` keyed by `id` and by `(zap, bar)` as in the seed's
 * quickstart, and `Automobile` with subclasses `Car` and `Truck` keyed by `license_plate`.
 * A store that only handles its own kind of object (an ORM) passes its own fixtures instead.
 */
export interface ContractFixtures {
  Foo: Class<{ id: number; zap: number; bar: string }>;
  makeFoo(id: number, zap: number, bar: string): { id: number; zap: number; bar: string };
  Automobile: Class<{ license_plate: string }>;
  Car: Class<{ license_plate: string }>;
  Truck: Class<{ license_plate: string }>;
  makeCar(plate: string): { license_plate: string };
  makeTruck(plate: string): { license_plate: string };
}

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'contract.Foo' })
class Foo {
  constructor(
    public id: number,
    public zap: number,
    public bar: string,
  ) {}
}

@Stockpyle({ keys: ['license_plate'], name: 'contract.Automobile' })
class Automobile {
  constructor(public license_plate: string) {}
}

@Stockpyle({ name: 'contract.Car' })
class Car extends Automobile {}

@Stockpyle({ name: 'contract.Truck' })
class Truck extends Automobile {}

/** Plain decorated classes, for every store that keeps any object. */
export const defaultFixtures: ContractFixtures = {
  Foo,
  makeFoo: (id, zap, bar) => new Foo(id, zap, bar),
  Automobile,
  Car,
  Truck,
  makeCar: (plate) => new Car(plate),
  makeTruck: (plate) => new Truck(plate),
};
