// Classified retries: throttling, 5xx, timeouts and connection resets retry
// with exponential backoff and full jitter under a total deadline, honouring Retry-After;
// everything else (AccessDenied, invalid tokens, validation, other 4xx) fails at once.
// Sleep and clock are injectable so tests run in milliseconds. Exhaustion is worded here
// once (RetryExhausted), for every client.
import { causes, errorMessage, isShiplineError, ShiplineError } from './errors';

export type Verdict = { retry: false } | { retry: true; reason: string; afterMs?: number };

export interface RetryOptions {
  /** What is being tried, for the exhaustion message, e.g. `GET https://registry/v2/`. */
  what?: string;
  /** What to do when it gave up (default: try again later). */
  hint?: string;
  /** Attempts in all, including the first. */
  maxAttempts: number;
  /** No new attempt starts after this many ms from the first. */
  deadlineMs: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  classify: (err: unknown) => Verdict;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string; error: unknown }) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

/** Retries ran out: kind transient, the last error kept as cause with its data. */
export class RetryExhausted extends ShiplineError {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
    readonly reason: string,
    opts: { what?: string | undefined; hint?: string | undefined } = {},
  ) {
    super(
      `${opts.what ? `${opts.what} failed: ` : ''}${errorMessage(lastError)} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason})`,
      {
        kind: 'transient',
        hint:
          opts.hint ??
          (isShiplineError(lastError) ? lastError.hint : undefined) ??
          'the service kept failing; re-run the job later',
        cause: lastError,
        data: { ...(isShiplineError(lastError) ? lastError.data : {}), attempts, reason },
      },
    );
    this.name = 'RetryExhausted';
  }
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs fn(attempt) until it succeeds, fails with a non-retryable error, or runs out. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const base = opts.baseDelayMs ?? 250;
  const cap = opts.maxDelayMs ?? 8000;
  const start = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const v = opts.classify(err);
      if (!v.retry) throw err;
      if (attempt >= opts.maxAttempts) throw new RetryExhausted(attempt, err, v.reason, opts);
      const backoff = Math.min(cap, base * 2 ** (attempt - 1));
      const delay = Math.max(v.afterMs ?? 0, Math.floor(random() * backoff));
      if (now() - start + delay > opts.deadlineMs)
        throw new RetryExhausted(
          attempt,
          err,
          `${v.reason}; the ${Math.round(opts.deadlineMs / 1000)} s deadline would pass`,
          opts,
        );
      opts.onRetry?.({ attempt, delayMs: delay, reason: v.reason, error: err });
      await sleep(delay);
    }
  }
}

/** Retry-After as seconds or an HTTP date, in ms (capped at 60 s). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  const ms = Number.isFinite(s) ? s * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 60_000) : undefined;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'ABORT_ERR',
]);

/** Network-level failures worth another try (fetch wraps them in `cause`). */
export function isTransientNetworkError(err: unknown): boolean {
  for (const e of causes(err)) {
    const code = (e as { code?: string }).code;
    const name = (e as { name?: string }).name;
    if (code && TRANSIENT_CODES.has(code)) return true;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
  }
  return false;
}

/** HTTP status classification shared by registry, Vault and token clients. */
export function classifyStatus(status: number, retryAfter?: string | null): Verdict {
  if (status === 429) return { retry: true, reason: 'HTTP 429 (throttled)', ...withAfter(retryAfter) };
  if (status === 408 || (status >= 500 && status !== 501))
    return { retry: true, reason: `HTTP ${status}`, ...withAfter(retryAfter) };
  return { retry: false };
}

function withAfter(retryAfter?: string | null): { afterMs?: number } {
  const ms = parseRetryAfter(retryAfter);
  return ms === undefined ? {} : { afterMs: ms };
}
