// Errors that say what failed, why, and what to do. The runtime prints `message` and
// `hint`; `exitCode` lets a step fail with a command's own code (run-in-container).

export class ShiplineError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, opts: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ShiplineError';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** A bad input: exit code 2, raised before any work starts. */
export class InputError extends ShiplineError {
  readonly input: string;
  constructor(input: string, message: string, hint?: string) {
    super(`input '${input}': ${message}`, hint === undefined ? { exitCode: 2 } : { hint, exitCode: 2 });
    this.name = 'InputError';
    this.input = input;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A ShiplineError from any bundle: dist/<step>/lazy.js carries its own copy of these
 * classes, so `instanceof` alone would miss errors thrown there.
 */
export function asShiplineError(err: unknown): ShiplineError | undefined {
  if (err instanceof ShiplineError) return err;
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { hint?: unknown; exitCode?: unknown };
  if ((e.name !== 'ShiplineError' && e.name !== 'InputError') || typeof e.exitCode !== 'number') return undefined;
  return new ShiplineError(e.message, { ...(typeof e.hint === 'string' ? { hint: e.hint } : {}), exitCode: e.exitCode, cause: err });
}
