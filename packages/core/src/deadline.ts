import { TimeoutError } from './errors';

/**
 * Settles like `promise`, or rejects with `TimeoutError` after `ms`. The timer is unref'd and
 * cleared, so a deadline never keeps the process alive or leaks.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(TimeoutError.after(what, ms)), ms);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
