// What assume-role and ecr-login share: their retry inputs and the call policy from them,
// and the checks of the job's AWS variables (endpoint, region, credentials) before any call.
import { endpointFor, REGION_RE, regionFrom, type CallPolicy } from '../../lib/aws/client';
import type { Env } from '../../lib/util/env';
import { ShiplineError } from '../../lib/util/errors';

const EXAMPLE_ENDPOINT = {
  STS: 'https://sts.eu-west-1.amazonaws.com',
  ECR: 'https://api.ecr.eu-west-1.amazonaws.com',
  ECR_PUBLIC: 'https://api.ecr-public.us-east-1.amazonaws.com',
} as const;

/** Input check: a whole number from min to max. */
export const wholeNumber = (min: number, max: number) => (v: string) =>
  /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be a whole number from ${min} to ${max}`;

/** The `retry-max-attempts` and `timeout-seconds` inputs of a step calling `service` (an anchor may name the latter otherwise). */
export const retryInputs = (service: string, timeoutAliases: readonly string[] = []) =>
  ({
    'retry-max-attempts': {
      type: 'number',
      description: `${service} attempts in all; only throttling, 5xx, timeouts and connection failures are retried.`,
      default: 5,
      check: wholeNumber(1, 20),
    },
    'timeout-seconds': {
      type: 'number',
      description: 'Deadline for all attempts together (each attempt is cut at 10 s).',
      default: 60,
      check: wholeNumber(5, 900),
      aliases: timeoutAliases,
    },
  }) as const;

/** The `retry-max-attempts` and `timeout-seconds` inputs as a call policy. */
export const callPolicy = (i: { retryMaxAttempts: number; timeoutSeconds: number }): CallPolicy => ({
  maxAttempts: i.retryMaxAttempts,
  deadlineMs: i.timeoutSeconds * 1000,
});

/** What to change when the service could not be reached within the retry policy. */
export const unreachableHint = (service: string) =>
  `check that ${service} is reachable from the job; the retry policy is retry-max-attempts / timeout-seconds`;

/**
 * AWS_ENDPOINT_URL_{svc} (else AWS_ENDPOINT_URL), checked now: a value no request can be
 * sent to is the job's configuration to fix (exit 2), not a failed call.
 */
export function checkedEndpoint(env: Env, service: 'STS' | 'ECR' | 'ECR_PUBLIC'): string | undefined {
  // white space around it (a pasted variable) is dropped: the request uses the URL as checked
  const endpoint = endpointFor(env, service)?.trim() || undefined;
  if (endpoint === undefined) return undefined;
  const name = env[`AWS_ENDPOINT_URL_${service}`] ? `AWS_ENDPOINT_URL_${service}` : 'AWS_ENDPOINT_URL';
  // the URL parser drops tabs and line breaks inside a URL: refuse them, so what is used is what was written
  let ok = !/[\s\p{Cc}]/u.test(endpoint);
  try {
    const u = new URL(endpoint);
    ok &&= (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
  } catch {
    ok = false;
  }
  if (!ok) {
    const shown = endpoint.length > 120 ? `${endpoint.slice(0, 120)}…` : endpoint;
    throw new ShiplineError(`${name}=${JSON.stringify(shown)} is not an http(s) URL`, {
      kind: 'input',
      hint: `set ${name} to the endpoint's URL (e.g. ${EXAMPLE_ENDPOINT[service]}) or unset it`,
      data: { variable: name },
    });
  }
  return endpoint;
}

/**
 * The region (the input, else AWS_REGION, else AWS_DEFAULT_REGION); one from a variable is
 * checked like the input: it goes into host names and signed headers.
 */
export function checkedRegion(given: string | undefined, env: Env): string | undefined {
  const region = regionFrom(given, env);
  if (region === undefined || given) return region;
  const name = env.AWS_REGION ? 'AWS_REGION' : 'AWS_DEFAULT_REGION';
  if (new RegExp(`^(?:${REGION_RE})$`).test(region)) return region;
  const shown = region.length > 60 ? `${region.slice(0, 60)}…` : region;
  throw new ShiplineError(`${name}=${JSON.stringify(shown)} is not an AWS region`, {
    kind: 'input',
    hint: `set ${name} to a region like eu-west-1, or give the region input`,
    data: { variable: name },
  });
}

/**
 * The job's AWS_ACCESS_KEY_ID and AWS_SESSION_TOKEN travel in request headers: one holding
 * a line break or a non-ASCII character would fail inside the SDK; it is the job's to fix.
 * The value is never shown.
 */
export function checkEnvCredentials(env: Env): void {
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN'] as const) {
    const v = env[name];
    if (v && !/^[\x21-\x7e]+$/.test(v))
      throw new ShiplineError(`${name} in the job holds spaces, line breaks, control or non-ASCII characters`, {
        kind: 'input',
        hint: `set ${name} to the value exactly as AWS gave it (a pasted line break is the usual cause)`,
        data: { variable: name },
      });
  }
}
