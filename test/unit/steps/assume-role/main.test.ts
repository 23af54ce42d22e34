// assume-role's explanation of a failure: the library's error (kind, AWS code, the token's
// claims) worded with this step's inputs, also for errors thrown in lazy.js.
import { publicClaims } from '../../../../src/lib/aws/claims';
import { awsFailure } from '../../../../src/lib/aws/errors';
import { isShiplineError, ShiplineError } from '../../../../src/lib/util/errors';
import { RetryExhausted } from '../../../../src/lib/util/retry';
import { explain, trustHint } from '../../../../src/steps/assume-role/main';
import type { AssumePlan } from '../../../../src/steps/assume-role/plan';
import { awsError, jwt } from '../../../support/aws-fixtures';

const claims = {
  iss: 'https://gitlab.example.com',
  aud: 'sts.amazonaws.com',
  sub: 'project_path:g/p:ref_type:branch:ref:main',
  project_path: 'g/p',
  ref: 'main',
  ref_type: 'branch',
  user_email: 'someone@example.com',
};
const params = { roleArn: 'arn:aws:iam::123456789012:role/r', sessionName: 's', durationSeconds: 900 };
const webIdentity: Pick<AssumePlan, 'source' | 'params' | 'audience'> = {
  source: { kind: 'web-identity', from: 'variable' },
  params,
  audience: undefined,
};

describe('trust hints', () => {
  test('AccessDenied: the sub/aud conditions of the trust policy, keyed by the issuer host', () => {
    const hint = trustHint(publicClaims(jwt(claims)), 'arn:aws:iam::123456789012:role/deploy', 'denied', undefined);
    expect(hint).toContain('"gitlab.example.com:aud": "sts.amazonaws.com"');
    expect(hint).toContain('"gitlab.example.com:sub": "project_path:g/p:ref_type:branch:ref:main"');
    expect(hint).toContain('arn:aws:iam::123456789012:oidc-provider/gitlab.example.com');
    expect(hint).not.toContain('c2lnbmF0dXJl');
    expect(hint).not.toContain('someone@example.com');
  });

  test('a wrong audience names the audience input when the token was requested with it', () => {
    expect(
      trustHint(
        publicClaims(jwt({ ...claims, aud: 'wrong' })),
        'arn:aws:iam::123456789012:role/r',
        'audience',
        'wrong',
      ),
    ).toMatch(/does not list the audience 'wrong'[\s\S]*input 'audience'/);
    expect(
      trustHint(
        publicClaims(jwt({ ...claims, aud: 'wrong' })),
        'arn:aws:iam::123456789012:role/r',
        'audience',
        undefined,
      ),
    ).toMatch(/GitLab: id_tokens/);
  });
});

describe('explain', () => {
  test('puts the claims next to an STS AccessDenied for web identity', () => {
    const failure = awsFailure(awsError('AccessDenied', 403), 'STS AssumeRoleWithWebIdentity for r', {
      roleArn: params.roleArn,
      claims: publicClaims(jwt(claims)),
    });
    const err = explain(failure, webIdentity) as ShiplineError;
    expect(err.message).toMatch(/AccessDenied/);
    expect(err.hint).toContain('sub: project_path:g/p');
  });

  test('names TagSession when tags were sent to AssumeRole', () => {
    const err = explain(awsFailure(awsError('AccessDenied', 403), 'STS AssumeRole for r'), {
      source: { kind: 'ambient', chained: true },
      params: { ...params, tags: [{ Key: 'CI', Value: 'x' }] },
      audience: undefined,
    }) as ShiplineError;
    expect(err.hint).toMatch(/sts:TagSession.*skip-session-tags/);
  });

  test('retries that ran out: the message as retry() worded it, the STS endpoint in the hint', () => {
    const exhausted = awsFailure(
      new RetryExhausted(3, awsError('InternalFailure', 500), 'InternalFailure (HTTP 500)', { what: 'STS op' }),
      'STS op',
      { endpoint: 'http://127.0.0.1:9' },
    );
    const err = explain(exhausted, webIdentity) as ShiplineError;
    expect(err.message).toBe(exhausted.message);
    expect(err.kind).toBe('transient');
    expect(err.hint).toBe(
      'check that STS (http://127.0.0.1:9) is reachable from the job; the retry policy is retry-max-attempts / timeout-seconds',
    );
  });

  test('a missing token file names the input', () => {
    const err = explain(
      awsFailure(
        new ShiplineError('web identity token file /t does not exist', { kind: 'not-found', data: { file: '/t' } }),
        'STS op',
      ),
      webIdentity,
    ) as ShiplineError;
    expect(err.hint).toBe('check the input web-identity-token-file');
  });

  test('a ShiplineError from lazy.js (another copy of the class) keeps its message, hint and exit code', () => {
    let Copy: typeof ShiplineError | undefined;
    jest.isolateModules(() => {
      Copy = (require('../../../../src/lib/util/errors') as typeof import('../../../../src/lib/util/errors'))
        .ShiplineError;
    });
    expect(Copy).not.toBe(ShiplineError);
    const thrown = new Copy!('STS failed', { kind: 'failed', hint: 'do this' });
    const err = explain(thrown, webIdentity);
    expect(isShiplineError(err)).toBe(true);
    expect([(err as ShiplineError).message, (err as ShiplineError).hint, (err as ShiplineError).exitCode]).toEqual([
      'STS failed',
      'do this',
      1,
    ]);
  });
});

describe('what the fuzz test found: user errors exit 2 naming the input (runStep, no call made)', () => {
  const base = {
    'role-arn': 'arn:aws:iam::123456789012:role/ci-deploy',
    region: 'eu-west-1',
    'retry-max-attempts': '1',
  };
  test('a token file that is missing or not a file', async () => {
    const { runOnce } = await import('../../../support/fuzz');
    const step = (await import('../../../../src/steps/assume-role/index')).default;
    const missing = await runOnce(step, { ...base, 'web-identity-token-file': '@@WS@@/nope' });
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(
      /error: input 'web-identity-token-file': web identity token file .*nope does not exist/,
    );
    expect(missing.err).toMatch(/^hint: /m);
    const dir = await runOnce(step, { ...base, 'web-identity-token-file': '@@WS@@' });
    expect(dir.code).toBe(2);
    expect(dir.err).toMatch(/input 'web-identity-token-file': web identity token file .* is not a regular file/);
  });

  test('a token variable that is not set', async () => {
    const { runOnce } = await import('../../../support/fuzz');
    const step = (await import('../../../../src/steps/assume-role/index')).default;
    const r = await runOnce(step, { ...base, 'web-identity-token-variable': 'AWS_ID_TOKEN' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/input 'web-identity-token-variable': the variable AWS_ID_TOKEN is empty or not set/);
    expect(r.err).toMatch(/hint: on GitLab declare it in the job: id_tokens/);
  });

  test('static keys with characters no request header can carry (a line break inside, non-ASCII)', async () => {
    const { runOnce } = await import('../../../support/fuzz');
    const step = (await import('../../../../src/steps/assume-role/index')).default;
    for (const [name, value] of [
      ['aws-access-key-id', 'AKIA\nFAKEFAKE'],
      ['aws-access-key-id', 'AKIAÜBER0000'],
      ['aws-secret-access-key', 'wJalrXUtnFEMI K7MDENG'],
      ['aws-session-token', 'Fwo\x01GZXIv'],
    ] as const) {
      const r = await runOnce(step, {
        ...base,
        'aws-access-key-id': 'AKIAFAKEFAKEFAKE0000',
        'aws-secret-access-key': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        [name]: value,
      });
      expect(r.code).toBe(2);
      expect(r.err).toContain(`error: input '${name}': holds spaces, line breaks, control or non-ASCII characters`);
      expect(r.err).toMatch(/hint: use the key exactly as AWS gave it/);
      expect(r.err).not.toContain(value);
    }
    // a pasted trailing newline is not an error: the key is used without it
    const { parseInputs } = await import('../../../../src/runtime/inputs');
    expect(() =>
      parseInputs(step.inputs, {
        ...base,
        'aws-access-key-id': 'AKIAFAKEFAKEFAKE0000\n',
        'aws-secret-access-key': 'x/y+z=\n',
      }),
    ).not.toThrow();
  });
});
