// Classifying AWS errors for the one retry policy, and a final failure as a ShiplineError.
import { awsAnswerError, awsFailure, classifyAwsError, describeNetworkError } from '../../../../src/lib/aws/errors';
import { ShiplineError } from '../../../../src/lib/util/errors';
import { awsError } from '../../../support/aws-fixtures';

describe('AWS error classification', () => {
  test.each([
    [awsError('Throttling', 400), true],
    [awsError('ThrottlingException', 400), true],
    [awsError('SomethingElse', 429), true],
    [awsError('InternalFailure', 500), true],
    [awsError('ServiceUnavailable', 503), true],
    [awsError('IDPCommunicationError', 400), true],
    [awsError('AccessDenied', 403), false],
    [awsError('InvalidIdentityToken', 400), false],
    [awsError('ValidationError', 400), false],
    [awsError('ExpiredTokenException', 400), false],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), true],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), true],
    [new Error('plain bug'), false],
  ])('%#: retry=%s', (err, retry) => expect(classifyAwsError(err).retry).toBe(retry));

  test('an expired token is retried only when a fresh one can be fetched', () => {
    expect(classifyAwsError(awsError('ExpiredTokenException', 400), { refreshableToken: true }).retry).toBe(true);
  });

  test('Retry-After is honoured', () => {
    expect(classifyAwsError(awsError('Throttling', 400, { 'retry-after': '2' }))).toEqual({
      retry: true,
      reason: 'throttled (Throttling)',
      afterMs: 2000,
    });
  });

  test('network failures in words', () => {
    expect(describeNetworkError(Object.assign(new Error('x'), { cause: { code: 'ECONNREFUSED' } }))).toBe(
      'connection refused',
    );
    expect(describeNetworkError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('timed out');
  });

  test('a ShiplineError of a token source retries when transient, with its reason and delay', () => {
    expect(
      classifyAwsError(
        new ShiplineError('busy', { kind: 'transient', data: { reason: 'HTTP 503', retryAfterMs: 1000 } }),
      ),
    ).toEqual({ retry: true, reason: 'HTTP 503', afterMs: 1000 });
    expect(classifyAwsError(new ShiplineError('no', { kind: 'denied' })).retry).toBe(false);
  });
});

describe('STS answers read without the SDK take its error shape', () => {
  test('one classifier serves both paths', () => {
    expect(classifyAwsError(awsAnswerError('Throttling', 'Rate exceeded', 400, { 'retry-after': '1' }))).toEqual({
      retry: true,
      reason: 'throttled (Throttling)',
      afterMs: 1000,
    });
    expect(classifyAwsError(awsAnswerError('HTTP502', 'STS answered HTTP 502', 502, {})).retry).toBe(true);
    expect(classifyAwsError(awsAnswerError('AccessDenied', 'Not authorized', 403, {})).retry).toBe(false);
  });
});

describe('awsFailure', () => {
  test('what failed, the code and message; kind and data for the step', () => {
    const e = awsFailure(awsError('AccessDenied', 403), 'STS AssumeRole for r', { roleArn: 'r' });
    expect(e.message).toBe('STS AssumeRole for r failed: AccessDenied: AccessDenied message');
    expect(e.kind).toBe('denied');
    expect(e.data).toEqual({ roleArn: 'r', code: 'AccessDenied', message: 'AccessDenied message', status: 403 });
    expect(awsFailure(awsError('InvalidIdentityToken', 400), 'x').kind).toBe('auth');
    expect(awsFailure(awsError('RepositoryNotFoundException', 400), 'x').kind).toBe('not-found');
  });

  test('no credentials at all says so', () => {
    const e = awsFailure(
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      'ECR GetAuthorizationToken in eu-west-1',
    );
    expect(e.message).toBe(
      'ECR GetAuthorizationToken in eu-west-1: no AWS credentials found (Could not load credentials from any providers)',
    );
    expect(e.kind).toBe('auth');
  });

  test('a ShiplineError keeps message, kind and hint and gains the data', () => {
    const e = awsFailure(
      new ShiplineError('file missing', { kind: 'not-found', hint: 'h', data: { file: '/t' } }),
      'STS op',
      { roleArn: 'r' },
    );
    expect([e.message, e.kind, e.hint]).toEqual(['file missing', 'not-found', 'h']);
    expect(e.data).toEqual({ file: '/t', roleArn: 'r' });
  });
});
