// One error vocabulary for the whole library: a ShiplineError has a kind (what went
// wrong, for the step to word a hint and for retries to classify), the data a step needs
// to say what to do, and optionally a hint. The library never names a step input: it
// throws a typed error with data, and the step maps it to its inputs and hints.

/**
 * input     a bad input (exit 2): only the runtime and steps raise it, naming the input
 * auth      credentials missing, rejected or expired (401, InvalidClientTokenId)
 * denied    authenticated but not allowed (403, AccessDenied, a trust policy)
 * not-found the thing named does not exist (an image, a secret path, a role)
 * conflict  the target already holds something else (a tag on another digest)
 * transient worth another try: throttling, 5xx, timeouts, resets (retry() exhausts them)
 * invalid   the other side sent something we will not accept (bad JSON, a digest mismatch)
 * failed    a command or request failed for another reason
 * bug       shipline's own fault
 */
export type ErrorKind =
  'input' | 'auth' | 'denied' | 'not-found' | 'conflict' | 'transient' | 'invalid' | 'failed' | 'bug';

export interface ErrorOptions {
  kind?: ErrorKind;
  hint?: string | undefined;
  /** Exit code of the step (default 2 for kind input, else 1). */
  exitCode?: number;
  cause?: unknown;
  /** Structured detail for the step that words the hint (status, code, registry…). */
  data?: Record<string, unknown>;
}

// Marks errors across bundles: dist/<step>/lazy.js carries its own copy of this class, so
// `instanceof` alone would miss errors thrown there.
const BRAND = Symbol.for('shipline.error');

export class ShiplineError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly data: Readonly<Record<string, unknown>>;
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ShiplineError';
    this.kind = opts.kind ?? 'failed';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? (this.kind === 'input' ? 2 : 1);
    this.data = opts.data ?? {};
    (this as unknown as Record<symbol, boolean>)[BRAND] = true;
  }

  /** Retrying may help (throttling, 5xx, timeouts). */
  get retryable(): boolean {
    return this.kind === 'transient';
  }
}

/** The same error (message, kind, data, exit code) with the hint a step words from its data. */
export function withHint(err: ShiplineError, hint: string): ShiplineError {
  return new ShiplineError(err.message, {
    kind: err.kind,
    hint,
    exitCode: err.exitCode,
    cause: err,
    data: { ...err.data },
  });
}

/** `err` with the hint `hintOf` words for it, when it is a ShiplineError and one applies; else `err`. */
export function hinted(err: unknown, hintOf: (e: ShiplineError) => string | undefined): unknown {
  const hint = isShiplineError(err) ? hintOf(err) : undefined;
  return hint !== undefined && isShiplineError(err) ? withHint(err, hint) : err;
}

/** A ShiplineError from any bundle of this process (see BRAND). */
export function isShiplineError(err: unknown): err is ShiplineError {
  return (
    err instanceof ShiplineError ||
    (err instanceof Error && (err as unknown as Record<symbol, unknown>)[BRAND] === true)
  );
}

/** `err` when it is a ShiplineError of that kind (any bundle). */
export function ofKind(err: unknown, ...kinds: ErrorKind[]): ShiplineError | undefined {
  return isShiplineError(err) && kinds.includes(err.kind) ? err : undefined;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** err, its cause, the cause's cause…: bounded, for classifiers that look through wrappers. */
export function* causes(err: unknown, max = 6): Generator<unknown> {
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < max; e = (e as { cause?: unknown }).cause, i++)
    yield e;
}
