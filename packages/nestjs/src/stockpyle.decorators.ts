import { Inject } from '@nestjs/common';
import { getStoreToken } from './stockpyle.constants';

/** Injects the store registered under `name` (default `'default'`): `@InjectStore('sessions') store: Store`. */
export function InjectStore(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getStoreToken(name));
}
