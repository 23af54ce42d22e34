// assume-role's plan: the credential-source precedence, and input errors that stop the step
// before any network call (exit 2).
import { tmpdir } from 'node:os';
import { InputError } from '../../../../src/runtime/inputs';
import { runStep } from '../../../../src/runtime/run';
import step from '../../../../src/steps/assume-role/index';
import { chooseSource, planAssume } from '../../../../src/steps/assume-role/plan';
import { parseInputs } from '../../../../src/runtime/inputs';
import { detectContext } from '../../../../src/lib/ci/context';
import type { Inputs } from '../../../../src/steps/assume-role/index';

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
    expect(() => chooseSource({ roleChaining: false, webIdentityToken: 'x', webIdentityTokenFile: '/t' }, {})).toThrow(
      InputError,
    );
    expect(() => chooseSource({ roleChaining: true, awsAccessKeyId: 'A', awsSecretAccessKey: 'S' }, {})).toThrow(
      /role-chaining.*cannot be combined/,
    );
    expect(() => chooseSource({ roleChaining: false, awsAccessKeyId: 'A' }, {})).toThrow(/aws-secret-access-key/);
  });
});

describe('assume-role input errors stop before any call (exit 2)', () => {
  const runCli = async (argv: string[], env: Record<string, string> = {}) => {
    let out = '';
    const code = await runStep(step, {
      env: { AWS_REGION: 'eu-west-1', ...env },
      argv,
      viaCli: true,
      cwd: tmpdir(),
      stdout: (s) => void (out += s),
      stderr: (s) => void (out += s),
    });
    return { code, out };
  };

  test.each([
    [[], /input 'role-arn': is required/],
    [['--role-arn', 'deploy'], /input 'role-arn': 'deploy' is not valid/],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--duration-seconds', '60'], /whole number from 900 to 43200/],
    [
      ['--role-arn', 'arn:aws:iam::123456789012:role/r', '--allowed-account-ids', '999999999999'],
      /account 123456789012, which is not in allowed-account-ids/,
    ],
    [
      ['--role-arn', 'arn:aws:iam::123456789012:role/r', '--role-chaining', '--duration-seconds', '7200'],
      /1 h STS allows for chained roles/,
    ],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--export-token-file'], /needs a web identity token source/],
    [['--role-arn', 'arn:aws:iam::123456789012:role/r', '--session-tags', 'no-equals'], /is not key=value/],
  ])('%j', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.out).toMatch(message);
    expect(r.code).toBe(2);
  });

  test('no region anywhere', async () => {
    let out = '';
    const code = await runStep(step, {
      env: {},
      argv: ['--role-arn', 'arn:aws:iam::123456789012:role/r'],
      viaCli: true,
      cwd: tmpdir(),
      stdout: (s) => void (out += s),
      stderr: (s) => void (out += s),
    });
    expect(code).toBe(2);
    expect(out).toMatch(/input 'region': is required/);
  });
});

describe('what the fuzz test found', () => {
  test('an STS endpoint variable no request can go to is exit 2 naming the variable', () => {
    const i = parseInputs(step.inputs, {
      'role-arn': 'arn:aws:iam::123456789012:role/r',
      region: 'eu-west-1',
      'web-identity-token': 'a.b.c',
    }) as Inputs;
    for (const [env, name] of [
      [{ AWS_ENDPOINT_URL_STS: '-x' }, 'AWS_ENDPOINT_URL_STS'],
      [{ AWS_ENDPOINT_URL: 'docker.io/library/x' }, 'AWS_ENDPOINT_URL'],
      [{ AWS_ENDPOINT_URL_STS: '{{'.repeat(500) }, 'AWS_ENDPOINT_URL_STS'],
      [{ AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:\r9' }, 'AWS_ENDPOINT_URL_STS'],
    ] as const) {
      let err: { exitCode?: number; message?: string; hint?: string } = {};
      try {
        planAssume(i, env, detectContext(env));
      } catch (e) {
        err = e as typeof err;
      }
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(new RegExp(`^${name}=".*" is not an http\\(s\\) URL$`));
      expect(err.message!.length).toBeLessThan(200);
      expect(err.hint).toContain(`set ${name}`);
    }
    expect(planAssume(i, { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' }, detectContext({})).endpoint).toBe(
      'http://127.0.0.1:9',
    );
    // white space around it is dropped (the request uses the checked URL)
    expect(planAssume(i, { AWS_ENDPOINT_URL_STS: ' http://localhost:9 ' }, detectContext({})).endpoint).toBe(
      'http://localhost:9',
    );
  });

  test('a region from AWS_REGION / AWS_DEFAULT_REGION is checked like the input (exit 2 naming the variable)', () => {
    const i = parseInputs(step.inputs, {
      'role-arn': 'arn:aws:iam::123456789012:role/r',
      'web-identity-token': 'a.b.c',
    }) as Inputs;
    expect(() => planAssume(i, { AWS_REGION: '\u0001' }, detectContext({}))).toThrow(
      expect.objectContaining({ exitCode: 2, message: 'AWS_REGION="\\u0001" is not an AWS region' }),
    );
    expect(() => planAssume(i, { AWS_DEFAULT_REGION: 'eu west 1' }, detectContext({}))).toThrow(
      expect.objectContaining({ exitCode: 2, hint: expect.stringContaining('set AWS_DEFAULT_REGION') }),
    );
    expect(planAssume(i, { AWS_REGION: 'eu-west-1' }, detectContext({})).region).toBe('eu-west-1');
  });
});
