// Classifying AWS SDK errors for our one retry policy (the SDK's own retries are off):
// throttling, 5xx, timeouts and connection failures retry; AccessDenied, invalid tokens,
// validation errors and every other 4xx fail at once.
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
const TRANSIENT = new Set(['InternalFailure', 'InternalError', 'ServiceUnavailable', 'ServiceUnavailableException', 'ServerException', 'IDPCommunicationError', 'RequestTimeout', 'RequestTimeoutException']);

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

export function classifyAwsError(err: unknown, opts: ClassifyOptions = {}): Verdict {
  const code = awsErrorCode(err);
  const status = awsStatus(err);
  const after = retryAfterMs(err);
  const withAfter = (reason: string): Verdict => (after === undefined ? { retry: true, reason } : { retry: true, reason, afterMs: after });
  if (THROTTLING.has(code) || status === 429) return withAfter(`throttled (${code})`);
  if (TRANSIENT.has(code)) return withAfter(`${code}${status ? ` (HTTP ${status})` : ''}`);
  if (opts.refreshableToken && code === 'ExpiredTokenException') return { retry: true, reason: 'the web identity token expired; fetching a fresh one' };
  if (status !== undefined && status >= 500 && status !== 501) return withAfter(`HTTP ${status} (${code})`);
  if (status !== undefined) return { retry: false };
  if (isTransientNetworkError(err)) return { retry: true, reason: describeNetworkError(err) };
  return { retry: false };
}

/** `connection refused`, `timed out`, …: the network failure in words (no URL secrets exist here). */
export function describeNetworkError(err: unknown): string {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: string }).code;
    const name = (e as { name?: string }).name;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'connection reset';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT' || (code ?? '').includes('TIMEOUT')) return 'timed out';
  }
  return 'network error';
}
