// ecr-login's explanation of an ECR failure: the missing permission or credentials, in this
// step's words.
import { awsFailure } from '../../../../src/lib/aws/errors';
import { ShiplineError } from '../../../../src/lib/util/errors';
import { RetryExhausted } from '../../../../src/lib/util/retry';
import { explain } from '../../../../src/steps/ecr-login/main';

const failure = (err: unknown, what = 'ECR GetAuthorizationToken in eu-west-1') => awsFailure(err, what);

test('error hints name the missing permission or credentials', () => {
  const denied = explain(
    failure(Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })),
    { type: 'private', registryIds: [] },
  ) as ShiplineError;
  expect(denied.hint).toContain('ecr:GetAuthorizationToken');
  const pub = explain(
    failure(Object.assign(new Error('no'), { name: 'AccessDeniedException' }), 'ECR Public GetAuthorizationToken'),
    { type: 'public', registryIds: [] },
  ) as ShiplineError;
  expect(pub.hint).toContain('sts:GetServiceBearerToken');
  const none = explain(
    failure(
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
    ),
    { type: 'private', registryIds: [] },
  ) as ShiplineError;
  expect(none.hint).toContain('run assume-role before this step');
});

test('retries that ran out, and no authorization data: the inputs to look at', () => {
  const exhausted = explain(
    failure(
      new RetryExhausted(2, new Error('connect ECONNREFUSED'), 'connection refused', {
        what: 'ECR GetAuthorizationToken',
      }),
    ),
    { type: 'private', registryIds: [] },
  ) as ShiplineError;
  expect(exhausted.message).toMatch(
    /^ECR GetAuthorizationToken failed: connect ECONNREFUSED \(gave up after 2 attempts: connection refused\)$/,
  );
  expect(exhausted.hint).toBe(
    'check that the ECR API endpoint is reachable from the job; the retry policy is retry-max-attempts / timeout-seconds',
  );
  const empty = explain(failure(new ShiplineError('ECR returned no authorization data', { kind: 'not-found' })), {
    type: 'private',
    registryIds: ['123456789012'],
  }) as ShiplineError;
  expect(empty.hint).toBe('check the input registries (account ids) and region');
});
