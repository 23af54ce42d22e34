// Classifying AWS SDK errors for our one retry policy (the SDK's own retries are off):
// throttling, 5xx, timeouts and connection failures retry; AccessDenied, invalid tokens,
// validation errors and every other 4xx fail at once. A failure that ends a call becomes a
// ShiplineError with a kind and the AWS code and message in its data, for the step to word.
import { causes, errorMessage, isShiplineError, ShiplineError, type ErrorKind } from '../util/errors';
import { isTransientNetworkError, parseRetryAfter, type Verdict } from '../util/retry';

interface AwsLikeError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
]);

/** Server-side codes AWS documents as transient (STS: IDPCommunicationError). */
const TRANSIENT = new Set([
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServerException',
  'IDPCommunicationError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** An error answer of an AWS API read without the SDK, in the SDK's error shape (one classifier serves both). */
export function awsAnswerError(
  code: string,
  message: string,
  status: number,
  headers: Record<string, string | undefined>,
): Error {
  return Object.assign(new Error(message), {
    name: code,
    $metadata: { httpStatusCode: status },
    $response: { statusCode: status, headers },
  });
}

export function awsErrorCode(err: unknown): string {
  const e = (err ?? {}) as AwsLikeError;
  return e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code ?? 'Error';
}

export function awsStatus(err: unknown): number | undefined {
  const e = (err ?? {}) as AwsLikeError;
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

function retryAfterMs(err: unknown): number | undefined {
  const headers = ((err ?? {}) as AwsLikeError).$response?.headers ?? {};
  return parseRetryAfter(headers['retry-after'] ?? headers['Retry-After']);
}

export interface ClassifyOptions {
  /** The web identity token can be fetched anew (GitHub), so an expired one is worth a retry. */
  refreshableToken?: boolean;
}

/**
 * Retry or not. A ShiplineError (a token source of ours) retries when transient, with the
 * `reason` and `retryAfterMs` of its data; an SDK or STS error by its code and status.
 */
export function classifyAwsError(err: unknown, opts: ClassifyOptions = {}): Verdict {
  if (isShiplineError(err)) {
    if (!err.retryable) return { retry: false };
    const afterMs = err.data.retryAfterMs;
    return {
      retry: true,
      reason: typeof err.data.reason === 'string' ? err.data.reason : err.message,
      ...(typeof afterMs === 'number' ? { afterMs } : {}),
    };
  }
  const code = awsErrorCode(err);
  const status = awsStatus(err);
  const after = retryAfterMs(err);
  const withAfter = (reason: string): Verdict =>
    after === undefined ? { retry: true, reason } : { retry: true, reason, afterMs: after };
  if (THROTTLING.has(code) || status === 429) return withAfter(`throttled (${code})`);
  if (TRANSIENT.has(code)) return withAfter(`${code}${status ? ` (HTTP ${status})` : ''}`);
  if (opts.refreshableToken && code === 'ExpiredTokenException')
    return { retry: true, reason: 'the web identity token expired; fetching a fresh one' };
  if (status !== undefined && status >= 500 && status !== 501) return withAfter(`HTTP ${status} (${code})`);
  if (status !== undefined) return { retry: false };
  if (isTransientNetworkError(err)) return { retry: true, reason: describeNetworkError(err) };
  return { retry: false };
}

/** `connection refused`, `timed out`, …: the network failure in words (no URL secrets exist here). */
export function describeNetworkError(err: unknown): string {
  for (const e of causes(err, 5)) {
    const code = (e as { code?: string }).code;
    const name = (e as { name?: string }).name;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'connection reset';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT' || (code ?? '').includes('TIMEOUT'))
      return 'timed out';
  }
  return 'network error';
}

/** The SDK found no credentials to sign with (env, profile, container or instance metadata). */
export const NO_CREDENTIALS = 'CredentialsProviderError';

const AUTH = new Set([
  'InvalidIdentityToken',
  'ExpiredTokenException',
  'ExpiredToken',
  'IDPRejectedClaim',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  NO_CREDENTIALS,
]);

function kindOf(code: string, status: number | undefined): ErrorKind {
  if (code === 'AccessDenied' || code === 'AccessDeniedException') return 'denied';
  if (AUTH.has(code)) return 'auth';
  if (/NotFound|NoSuchEntity/.test(code) || status === 404) return 'not-found';
  if (THROTTLING.has(code) || TRANSIENT.has(code)) return 'transient';
  return 'failed';
}

/**
 * An AWS call that failed for good as a ShiplineError: `<what> failed: <code>: <message>`
 * (or `<what>: no AWS credentials found (…)`), kind from the code, and in `data` the code,
 * AWS's message, the HTTP status and `extra` (what the step needs to word a hint).
 * A ShiplineError (a RetryExhausted, a token source's) keeps its message, kind and hint and
 * gains `extra` in its data.
 */
export function awsFailure(err: unknown, what: string, extra: Record<string, unknown> = {}): ShiplineError {
  if (isShiplineError(err))
    return new ShiplineError(err.message, {
      kind: err.kind,
      hint: err.hint,
      exitCode: err.exitCode,
      cause: err,
      data: { ...err.data, ...extra },
    });
  const code = awsErrorCode(err);
  const message = errorMessage(err);
  const status = awsStatus(err);
  const text =
    code === NO_CREDENTIALS ? `${what}: no AWS credentials found (${message})` : `${what} failed: ${code}: ${message}`;
  return new ShiplineError(text, {
    kind: kindOf(code, status),
    cause: err,
    data: { ...extra, code, message, ...(status === undefined ? {} : { status }) },
  });
}
