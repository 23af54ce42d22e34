// dist/<step>/lazy.js carries its own copy of the error classes, so a ShiplineError thrown
// there fails `instanceof` in index.js: rebuild it (message, hint and exit code intact).
import { asShiplineError } from '../util/errors';

export function reviveError(err: unknown): unknown {
  return asShiplineError(err) ?? err;
}

/** Runs fn (which calls into lazy.js) and revives the errors it throws. */
export async function fromLazy<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw reviveError(err);
  }
}
