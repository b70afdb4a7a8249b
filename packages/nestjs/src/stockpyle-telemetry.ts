import type { Store } from '@stockpyle/core';

type Instrument = (store: Store) => () => void;

/**
 * `instrumentOpenTelemetry` of `@stockpyle/core/opentelemetry`, or `undefined` when the optional
 * peer `@opentelemetry/api` is not installed (the only failure swallowed: anything else is a bug).
 */
function loadInstrument(): Instrument | undefined {
  try {
    // Loaded on demand: importing it statically would make @opentelemetry/api a hard dependency.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('@stockpyle/core/opentelemetry') as { instrumentOpenTelemetry: Instrument }).instrumentOpenTelemetry;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes('@opentelemetry/api')) return undefined;
    throw error;
  }
}

/** Reports each store (distinct ones once) to OpenTelemetry where its API is installed; a function that stops it. */
export function instrumentWhereInstalled(stores: readonly Store[]): () => void {
  const instrument = loadInstrument();
  if (instrument === undefined) return () => undefined;
  const stops = [...new Set(stores)].map((store) => instrument(store));
  return () => stops.forEach((stop) => stop());
}
