// What every AWS call shares: region and endpoint from the job, and the retry wrapper with
// an injected clock and sleep.
import { callWithRetry, endpointFor, regionFrom } from '../../../../src/lib/aws/client';
import { classifyAwsError } from '../../../../src/lib/aws/errors';
import { RetryExhausted } from '../../../../src/lib/util/retry';
import { awsError } from '../../../support/aws-fixtures';

const noLog = { warn: () => undefined, debug: () => undefined };

test('region and endpoint come from inputs, then the job env', () => {
  expect(regionFrom(undefined, { AWS_DEFAULT_REGION: 'eu-west-2' })).toBe('eu-west-2');
  expect(regionFrom('us-east-2', { AWS_REGION: 'eu-west-1' })).toBe('us-east-2');
  expect(endpointFor({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_ECR: 'http://b' }, 'ECR')).toBe('http://b');
  expect(endpointFor({ AWS_ENDPOINT_URL: 'http://a' }, 'ECR_PUBLIC')).toBe('http://a');
});

describe('callWithRetry (injected clock and sleep)', () => {
  const clock = () => {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms) };
  };

  test('throttled twice, then success: three attempts, two warnings', async () => {
    const c = clock();
    const warnings: string[] = [];
    let calls = 0;
    const { value, attempts } = await callWithRetry(
      'op',
      async () => {
        calls++;
        if (calls <= 2) throw awsError('Throttling', 400, { 'retry-after': '1' });
        return 'ok';
      },
      { maxAttempts: 5, deadlineMs: 60_000, ...c },
      (e) => classifyAwsError(e),
      { warn: (m) => warnings.push(m), debug: () => undefined },
      'hint',
    );
    expect([value, attempts, calls]).toEqual(['ok', 3, 3]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/attempt 1 of 5 failed \(throttled \(Throttling\)\); retrying in 1\.0 s/);
  });

  test('AccessDenied fails on the first attempt', async () => {
    let calls = 0;
    const p = callWithRetry(
      'op',
      async () => {
        calls++;
        throw awsError('AccessDenied', 403);
      },
      { maxAttempts: 5, deadlineMs: 60_000, ...clock() },
      (e) => classifyAwsError(e),
      noLog,
      'hint',
    );
    await expect(p).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(calls).toBe(1);
  });

  test('an unreachable endpoint stops at the deadline with the reason', async () => {
    const c = clock();
    const p = callWithRetry(
      'STS op',
      async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
      { maxAttempts: 50, deadlineMs: 5000, ...c },
      (e) => classifyAwsError(e),
      noLog,
      'is it up?',
    );
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhausted);
    expect((err as RetryExhausted).message).toMatch(
      /^STS op failed: connect ECONNREFUSED \(gave up after \d+ attempts: connection refused; the 5 s deadline would pass\)$/,
    );
    expect([(err as RetryExhausted).kind, (err as RetryExhausted).hint]).toEqual(['transient', 'is it up?']);
    expect(c.now()).toBeLessThanOrEqual(5000);
  });
});
