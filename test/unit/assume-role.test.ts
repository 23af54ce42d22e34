// assume-role's pure parts: ARN/session/tag rules, claim decoding and trust hints, AWS error
// classification, the credential-source precedence, token sources, the retry wrapper with an
// injected clock, and input errors that stop the step before any network call.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLE_ARN_RE, accountFromArn, ciTags, defaultSessionName, parseTags, sanitizeSessionName, sanitizeTagValue } from '../../src/lib/aws/arn';
import { decodeClaims, shownClaims, trustHint, trustProblem } from '../../src/lib/aws/claims';
import { callWithRetry } from '../../src/lib/aws/client';
import { classifyAwsError, describeNetworkError } from '../../src/lib/aws/errors';
import { chooseSource } from '../../src/lib/aws/source';
import { fetchGithubToken, readTokenFile, tokenFromVariable, TokenEndpointError } from '../../src/lib/aws/web-identity';
import { explain } from '../../src/lib/aws/sts-common';
import type { HttpClient } from '../../src/lib/aws/http';
import { InputError, ShiplineError } from '../../src/lib/util/errors';
import { runStep } from '../../src/runtime/run';
import step from '../../src/steps/assume-role/index';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: 'RS256' })}.${b64(claims)}.c2lnbmF0dXJlLW5vdC1zaG93bg`;
const awsError = (name: string, status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status }, $response: { statusCode: status, headers } });
const noLog = { warn: () => undefined, debug: () => undefined };

describe('ARNs, session names and tags', () => {
  const re = new RegExp(`^(?:${ROLE_ARN_RE})$`);
  test.each([
    ['arn:aws:iam::123456789012:role/deploy', true],
    ['arn:aws:iam::123456789012:role/path/to/deploy-role_1', true],
    ['arn:aws-us-gov:iam::123456789012:role/x', true],
    ['arn:aws:iam::12345678901:role/deploy', false],
    ['arn:aws:iam::123456789012:user/deploy', false],
    ['deploy', false],
  ])('%s valid=%s', (arn, ok) => expect(re.test(arn)).toBe(ok));

  test('account from role and assumed-role ARNs', () => {
    expect(accountFromArn('arn:aws:sts::210987654321:assumed-role/r/s')).toBe('210987654321');
    expect(accountFromArn('arn:aws:iam::123456789012:role/r')).toBe('123456789012');
    expect(accountFromArn('nope')).toBeUndefined();
  });

  test('session names are made acceptable to STS', () => {
    expect(sanitizeSessionName('feature/JIRA-1 fix!')).toBe('feature-JIRA-1-fix-');
    expect(sanitizeSessionName('x')).toHaveLength(2);
    expect(sanitizeSessionName('a'.repeat(100))).toHaveLength(64);
    expect(defaultSessionName('gitlab', '6161')).toBe('shipline-gitlab-6161');
    expect(defaultSessionName('local', undefined, new Date('2024-01-02T03:04:05Z'))).toBe('shipline-local-20240102030405');
  });

  test('tag values and CI tags', () => {
    expect(sanitizeTagValue('feat/x#1 "q"')).toBe('feat/x_1 _q_');
    expect(parseTags(['Team=infra', 'Note=a=b'])).toEqual([
      { Key: 'Team', Value: 'infra' },
      { Key: 'Note', Value: 'a=b' },
    ]);
    const tags = ciTags({ provider: 'gitlab', projectPath: 'g/p', sha: 'abc', refName: 'main', actor: undefined, jobId: '1' });
    expect(tags.map((t) => t.Key)).toEqual(['CI', 'Repository', 'Ref', 'Commit', 'Job']);
  });
});

describe('claims and trust hints', () => {
  const claims = { iss: 'https://gitlab.example.com', aud: 'sts.amazonaws.com', sub: 'project_path:g/p:ref_type:branch:ref:main', project_path: 'g/p', ref: 'main', ref_type: 'branch', user_email: 'someone@example.com' };

  test('decodes the payload and shows only pipeline-identifying claims', () => {
    const decoded = decodeClaims(jwt(claims))!;
    expect(decoded.sub).toBe(claims.sub);
    const shown = shownClaims(decoded).join('\n');
    expect(shown).toContain('project_path: g/p');
    expect(shown).not.toContain('someone@example.com');
    expect(decodeClaims('not-a-jwt')).toBeUndefined();
  });

  test('AccessDenied: the sub/aud conditions of the trust policy, keyed by the issuer host', () => {
    const hint = trustHint(decodeClaims(jwt(claims)), 'arn:aws:iam::123456789012:role/deploy', 'denied', undefined);
    expect(hint).toContain('"gitlab.example.com:aud": "sts.amazonaws.com"');
    expect(hint).toContain('"gitlab.example.com:sub": "project_path:g/p:ref_type:branch:ref:main"');
    expect(hint).toContain('arn:aws:iam::123456789012:oidc-provider/gitlab.example.com');
    expect(hint).not.toContain('c2lnbmF0dXJl');
  });

  test('the kind of rejection picks the hint', () => {
    expect(trustProblem('InvalidIdentityToken', 'Incorrect token audience')).toBe('audience');
    expect(trustProblem('InvalidIdentityToken', 'No OpenIDConnect provider found in your account for x')).toBe('issuer');
    expect(trustProblem('ExpiredTokenException', 'Token expired')).toBe('expired');
    expect(trustProblem('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity')).toBe('denied');
    expect(trustHint(decodeClaims(jwt({ ...claims, aud: 'wrong' })), 'arn:aws:iam::123456789012:role/r', 'audience', 'wrong')).toMatch(/does not list the audience 'wrong'[\s\S]*input 'audience'/);
  });

  test('explain() puts the claims next to an STS AccessDenied for web identity', () => {
    const err = explain(awsError('AccessDenied', 403), 'STS AssumeRoleWithWebIdentity for r', { roleArn: 'arn:aws:iam::123456789012:role/r', sessionName: 's', durationSeconds: 900 }, { kind: 'web-identity', origin: 'x', refreshable: false, token: async () => '' }, jwt(claims), undefined) as ShiplineError;
    expect(err.message).toMatch(/AccessDenied/);
    expect(err.hint).toContain('sub: project_path:g/p');
  });

  test('explain() names TagSession when tags were sent to AssumeRole', () => {
    const err = explain(awsError('AccessDenied', 403), 'STS AssumeRole for r', { roleArn: 'arn:aws:iam::123456789012:role/r', sessionName: 's', durationSeconds: 900, tags: [{ Key: 'CI', Value: 'x' }] }, { kind: 'ambient', chained: true }, undefined, undefined) as ShiplineError;
    expect(err.hint).toMatch(/sts:TagSession.*skip-session-tags/);
  });
});

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
    expect(classifyAwsError(awsError('Throttling', 400, { 'retry-after': '2' }))).toEqual({ retry: true, reason: 'throttled (Throttling)', afterMs: 2000 });
  });

  test('network failures in words', () => {
    expect(describeNetworkError(Object.assign(new Error('x'), { cause: { code: 'ECONNREFUSED' } }))).toBe('connection refused');
    expect(describeNetworkError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('timed out');
  });
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
    const p = callWithRetry('op', async () => {
      calls++;
      throw awsError('AccessDenied', 403);
    }, { maxAttempts: 5, deadlineMs: 60_000, ...clock() }, (e) => classifyAwsError(e), noLog, 'hint');
    await expect(p).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(calls).toBe(1);
  });

  test('an unreachable endpoint stops at the deadline with the reason', async () => {
    const c = clock();
    const p = callWithRetry('STS op', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    }, { maxAttempts: 50, deadlineMs: 5000, ...c }, (e) => classifyAwsError(e), noLog, 'is it up?');
    await expect(p).rejects.toThrow(/STS op failed after \d+ attempts in [\d.]+ s \(connection refused; the 5 s deadline would pass; last error: connection refused \(connect ECONNREFUSED\)\)/);
    expect(c.now()).toBeLessThanOrEqual(5000);
  });
});

describe('credential source precedence', () => {
  const gh = { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/token', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' };
  test.each([
    [{ roleChaining: false }, {}, { kind: 'ambient', chained: false }],
    [{ roleChaining: false }, gh, { kind: 'web-identity', from: 'github' }],
    [{ roleChaining: true }, gh, { kind: 'ambient', chained: true }],
    [{ roleChaining: false, webIdentityTokenVariable: 'AWS_ID_TOKEN' }, gh, { kind: 'web-identity', from: 'variable' }],
    [{ roleChaining: false, webIdentityTokenFile: '/t' }, {}, { kind: 'web-identity', from: 'file' }],
    [{ roleChaining: false, awsAccessKeyId: 'A', awsSecretAccessKey: 'S' }, gh, { kind: 'static' }],
  ])('%#', (inputs, env, plan) => expect(chooseSource(inputs, env)).toEqual(plan));

  test('two explicit sources, or half a key pair, are input errors', () => {
    expect(() => chooseSource({ roleChaining: false, webIdentityToken: 'x', webIdentityTokenFile: '/t' }, {})).toThrow(InputError);
    expect(() => chooseSource({ roleChaining: true, awsAccessKeyId: 'A', awsSecretAccessKey: 'S' }, {})).toThrow(/role-chaining.*cannot be combined/);
    expect(() => chooseSource({ roleChaining: false, awsAccessKeyId: 'A' }, {})).toThrow(/aws-secret-access-key/);
  });
});

describe('token sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipline-ar-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('token file: read and registered as a secret; symlinks and empty files refused', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'tok-123\n', { mode: 0o600 });
    const secrets: string[] = [];
    expect(readTokenFile(file, (s) => secrets.push(s))).toBe('tok-123');
    expect(secrets).toEqual(['tok-123']);
    symlinkSync(file, join(dir, 'link'));
    expect(() => readTokenFile(join(dir, 'link'), () => undefined)).toThrow(/is a symbolic link/);
    writeFileSync(join(dir, 'empty'), '');
    expect(() => readTokenFile(join(dir, 'empty'), () => undefined)).toThrow(/is empty/);
    expect(() => readTokenFile(join(dir, 'missing'), () => undefined)).toThrow(/does not exist/);
  });

  test('token variable: a missing one says how to declare id_tokens', () => {
    expect(() => tokenFromVariable({}, 'AWS_ID_TOKEN', () => undefined)).toThrow(ShiplineError);
    try {
      tokenFromVariable({}, 'AWS_ID_TOKEN', () => undefined);
    } catch (e) {
      expect((e as ShiplineError).hint).toContain('id_tokens: { AWS_ID_TOKEN: { aud: sts.amazonaws.com } }');
    }
  });

  test('GitHub token endpoint: audience and bearer are sent; 401 is final, 503 retried', async () => {
    const seen: { url: string; auth: string }[] = [];
    const fake =
      (status: number, body: unknown): HttpClient =>
      async (url, req) => {
        seen.push({ url: String(url), auth: String(req.headers.authorization) });
        return { status, headers: {}, body: JSON.stringify(body) };
      };
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/token?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-token' };
    const secrets: string[] = [];
    await expect(fetchGithubToken(env, 'sts.amazonaws.com', { onSecret: (s) => secrets.push(s), request: fake(200, { value: 'id-token' }) })).resolves.toBe('id-token');
    expect(seen[0]).toEqual({ url: 'http://127.0.0.1:1/token?api-version=2.0&audience=sts.amazonaws.com', auth: 'Bearer req-token' });
    expect(secrets).toEqual(['req-token', 'id-token']);
    const denied = await fetchGithubToken(env, 'a', { onSecret: () => undefined, request: fake(401, {}) }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(TokenEndpointError);
    expect((denied as TokenEndpointError).verdict.retry).toBe(false);
    expect((denied as TokenEndpointError).hint).toContain('id-token: write');
    const busy = await fetchGithubToken(env, 'a', { onSecret: () => undefined, request: fake(503, {}) }).catch((e: unknown) => e);
    expect((busy as TokenEndpointError).verdict.retry).toBe(true);
    await expect(fetchGithubToken({}, 'a', { onSecret: () => undefined })).rejects.toThrow(/ACTIONS_ID_TOKEN_REQUEST_URL is not set/);
  });
});

describe('assume-role input errors stop before any call (exit 2)', () => {
  const runCli = async (argv: string[], env: Record<string, string> = {}) => {
    let out = '';
    const code = await runStep(step, { env: { AWS_REGION: 'eu-west-1', ...env }, argv, viaCli: true, cwd: tmpdir(), stdout: (s) => void (out += s), stderr: (s) => void (out += s) });
    return { code, out };
  };

  test.each([
    [[], /input 'role-arn': is required/],
    [['--role-arn', 'deploy'], /input 'role-arn': 'deploy' is not valid/],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--duration-seconds', '60'], /whole number from 900 to 43200/],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--allowed-account-ids', '999999999999'], /account 123456789012, which is not in allowed-account-ids/],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--role-chaining', '--duration-seconds', '7200'], /1 h STS allows for chained roles/],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--export-token-file'], /needs a web identity token source/],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--session-tags', 'no-equals'], /is not key=value/],
  ])('%j', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.out).toMatch(message);
    expect(r.code).toBe(2);
  });

  test('no region anywhere', async () => {
    let out = '';
    const code = await runStep(step, { env: {}, argv: ['--role-arn', 'arn:aws:iam::123456789012:role/r'], viaCli: true, cwd: tmpdir(), stdout: (s) => void (out += s), stderr: (s) => void (out += s) });
    expect(code).toBe(2);
    expect(out).toMatch(/input 'region': is required/);
  });
});

describe('errors from lazy.js keep their message, hint and exit code', () => {
  test('a ShiplineError look-alike (another copy of the class) is rebuilt', async () => {
    const { reviveError, fromLazy } = await import('../../src/lib/aws/revive');
    class Copy extends Error {
      hint = 'do this';
      exitCode = 1;
      override name = 'ShiplineError';
    }
    const revived = reviveError(new Copy('STS failed')) as ShiplineError;
    expect(revived).toBeInstanceOf(ShiplineError);
    expect([revived.message, revived.hint, revived.exitCode]).toEqual(['STS failed', 'do this', 1]);
    const plain = new TypeError('bug');
    expect(reviveError(plain)).toBe(plain);
    await expect(fromLazy(async () => { throw new Copy('x'); })).rejects.toBeInstanceOf(ShiplineError);
  });
});

describe('STS Query protocol without the SDK', () => {
  test('endpoints per partition, XML text with entities', async () => {
    const { stsEndpoint, xmlText } = await import('../../src/lib/aws/sts-query');
    expect(stsEndpoint('eu-west-1')).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(stsEndpoint('cn-north-1')).toBe('https://sts.cn-north-1.amazonaws.com.cn');
    expect(stsEndpoint('us-gov-west-1')).toBe('https://sts.us-gov-west-1.amazonaws.com');
    const xml = '<R><Credentials><SessionToken>a&amp;b&#x2F;c&#61;</SessionToken></Credentials><Code>X</Code></R>';
    expect(xmlText(xml, 'SessionToken')).toBe('a&b/c=');
    expect(xmlText(xml, 'Missing')).toBeUndefined();
  });

  test('errors carry the SDK shape, so one classifier serves both paths', async () => {
    const { StsQueryError } = await import('../../src/lib/aws/sts-query');
    expect(classifyAwsError(new StsQueryError('Throttling', 'Rate exceeded', 400, { 'retry-after': '1' }))).toEqual({ retry: true, reason: 'throttled (Throttling)', afterMs: 1000 });
    expect(classifyAwsError(new StsQueryError('HTTP502', 'STS answered HTTP 502', 502, {})).retry).toBe(true);
    expect(classifyAwsError(new StsQueryError('AccessDenied', 'Not authorized', 403, {})).retry).toBe(false);
  });
});
