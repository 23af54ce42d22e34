import { retry, RetryExhausted, classifyStatus, parseRetryAfter } from '../../../../src/lib/util/retry';

describe('retry', () => {
  const fast = { sleep: async () => {}, random: () => 0.5 };
  test('retries retryable errors, then succeeds', async () => {
    let n = 0;
    const delays: number[] = [];
    const v = await retry(async () => (++n < 3 ? Promise.reject(new Error('throttled')) : 'ok'), {
      ...fast,
      maxAttempts: 5,
      deadlineMs: 10_000,
      classify: () => ({ retry: true, reason: 'Throttling' }),
      onRetry: (i) => delays.push(i.delayMs),
    });
    expect(v).toBe('ok');
    expect(n).toBe(3);
    expect(delays).toEqual([125, 250]);
  });
  test('never retries a non-retryable error', async () => {
    let n = 0;
    await expect(
      retry(
        async () => {
          n++;
          throw new Error('AccessDenied');
        },
        { ...fast, maxAttempts: 5, deadlineMs: 1000, classify: () => ({ retry: false }) },
      ),
    ).rejects.toThrow('AccessDenied');
    expect(n).toBe(1);
  });
  test('stops at max attempts and at the deadline, honouring Retry-After', async () => {
    await expect(
      retry(
        async () => {
          throw new Error('x');
        },
        { ...fast, maxAttempts: 2, deadlineMs: 1e6, classify: () => ({ retry: true, reason: 'HTTP 503' }) },
      ),
    ).rejects.toThrow(RetryExhausted);
    let t = 0;
    const err = await retry(
      async () => {
        throw new Error('x');
      },
      {
        sleep: async (ms) => void (t += ms),
        now: () => t,
        maxAttempts: 10,
        deadlineMs: 5000,
        classify: () => ({ retry: true, reason: 'HTTP 429', afterMs: 3000 }),
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhausted);
    expect((err as RetryExhausted).attempts).toBe(2);
    expect((err as Error).message).toContain('deadline');
  });
  test('status classes', () => {
    expect(classifyStatus(503)).toEqual({ retry: true, reason: 'HTTP 503' });
    expect(classifyStatus(429, '2')).toEqual({ retry: true, reason: 'HTTP 429 (throttled)', afterMs: 2000 });
    expect(classifyStatus(403)).toEqual({ retry: false });
    expect(classifyStatus(404)).toEqual({ retry: false });
    expect(parseRetryAfter('junk')).toBeUndefined();
  });
});
