// What assume-role and ecr-login share: their retry inputs and the call policy from them.
import type { CallPolicy } from '../../lib/aws/client';

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
