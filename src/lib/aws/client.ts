// What every AWS call of shipline shares: explicit region and endpoint (never guessed from
// process.env behind the step's back), one classified retry policy, a per-attempt timeout
// and a total deadline. The calls themselves are signed requests (signed.ts), not SDK clients.
import type { Env } from '../util/env';
import { retry, type Verdict } from '../util/retry';

/** AWS_ENDPOINT_URL_<SERVICE> (the SDKs' own rule), then AWS_ENDPOINT_URL. */
export function endpointFor(env: Env, service: 'STS' | 'ECR' | 'ECR_PUBLIC'): string | undefined {
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
}

/** The region given, else AWS_REGION, else AWS_DEFAULT_REGION. */
export function regionFrom(given: string | undefined, env: Env): string | undefined {
  return given || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

export const REGION_RE = '[a-z]{2}(?:-[a-z]+)+-\\d+';

/** ECR Public has one registry and hands out tokens in us-east-1 only. */
export const ECR_PUBLIC_REGISTRY = 'public.ecr.aws';
export const ECR_PUBLIC_REGION = 'us-east-1';

export interface CallPolicy {
  /** Attempts in all (1 = no retry). */
  maxAttempts: number;
  /** No attempt starts after this many ms; each attempt is also cut at what remains. */
  deadlineMs: number;
  /** Per-attempt cap (default 10 s). */
  attemptTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface CallLog {
  warn(msg: string): void;
  debug(msg: string): void;
}

/** The DNS suffix of a region's partition (commercial, China, the isolated ones). */
export function dnsSuffix(region: string): string {
  if (region.startsWith('cn-')) return 'amazonaws.com.cn';
  if (region.startsWith('us-isob-')) return 'sc2s.sgov.gov';
  if (region.startsWith('us-iso-')) return 'c2s.ic.gov';
  if (region.startsWith('us-isof-')) return 'csp.hci.ic.gov';
  if (region.startsWith('eu-isoe-')) return 'cloud.adc-e.uk';
  return 'amazonaws.com';
}

/** The regional endpoint of `service` (`sts`, `api.ecr`, `api.ecr-public`), as the SDK resolves it. */
export const serviceEndpoint = (service: string, region: string): string =>
  `https://${service}.${region}.${dnsSuffix(region)}`;

/**
 * Settings for an AWS SDK client, where one is still used (shipline's own calls are signed
 * requests): the SDK's retries off (maxAttempts: 1) so our classified policy is the only
 * one, a per-attempt timeout, and a User-Agent that names shipline.
 */
export function clientConfig(opts: {
  region: string;
  endpoint: string | undefined;
  step: string;
  attemptTimeoutMs: number;
}) {
  return {
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    maxAttempts: 1,
    customUserAgent: [['shipline', opts.step]] as [string, string][],
    requestHandler: { connectionTimeout: Math.min(opts.attemptTimeoutMs, 5000), requestTimeout: opts.attemptTimeoutMs },
  };
}

/**
 * Runs `fn` under the policy. `fn` gets an AbortSignal that fires at the per-attempt
 * timeout; errors are sorted by `classify`. Running out throws retry()'s RetryExhausted
 * (`<what> failed: … (gave up after N attempts: …)`, with `hint`); other errors pass as thrown.
 */
export async function callWithRetry<T>(
  what: string,
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  policy: CallPolicy,
  classify: (err: unknown) => Verdict,
  log: CallLog,
  hint?: string,
): Promise<{ value: T; attempts: number }> {
  const now = policy.now ?? Date.now;
  const start = now();
  const perAttempt = policy.attemptTimeoutMs ?? 10_000;
  let attempts = 0;
  const value = await retry(
    async (attempt) => {
      attempts = attempt;
      const remaining = Math.max(1000, policy.deadlineMs - (now() - start));
      return fn(attempt, AbortSignal.timeout(Math.min(perAttempt, remaining)));
    },
    {
      what,
      ...(hint ? { hint } : {}),
      maxAttempts: policy.maxAttempts,
      deadlineMs: policy.deadlineMs,
      classify,
      onRetry: ({ attempt, delayMs, reason }) =>
        log.warn(
          `${what}: attempt ${attempt} of ${policy.maxAttempts} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`,
        ),
      ...(policy.sleep ? { sleep: policy.sleep } : {}),
      ...(policy.now ? { now: policy.now } : {}),
    },
  );
  return { value, attempts };
}
