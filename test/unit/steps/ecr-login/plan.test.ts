// ecr-login's inputs: errors before any call (exit 2), and the plan of the call.
import { tmpdir } from 'node:os';
import { runStep } from '../../../../src/runtime/run';
import step from '../../../../src/steps/ecr-login/index';
import { planLogin } from '../../../../src/steps/ecr-login/plan';

const capture = () => {
  let out = '';
  return { text: () => out, opts: { stdout: (s: string) => void (out += s), stderr: (s: string) => void (out += s) } };
};

describe('ecr-login inputs (exit 2 before any call)', () => {
  test.each([
    [['--registries', '12345'], /input 'registries': '12345' is not valid/],
    [['--registry-type', 'other'], /input 'registry-type': 'other' is not allowed/],
    [['--method', 'curl'], /input 'method'/],
    [['--retry-max-attempts', '0'], /whole number from 1 to 20/],
  ])('%j', async (argv, message) => {
    const c = capture();
    expect(
      await runStep(step, { env: { AWS_REGION: 'eu-west-1' }, argv, viaCli: true, cwd: tmpdir(), ...c.opts }),
    ).toBe(2);
    expect(c.text()).toMatch(message);
  });

  test('no region for a private registry', async () => {
    const c = capture();
    expect(await runStep(step, { env: {}, argv: [], viaCli: true, cwd: tmpdir(), ...c.opts })).toBe(2);
    expect(c.text()).toMatch(/input 'region': is required/);
  });
});

describe('the plan', () => {
  const inputs = {
    registries: [],
    registryType: 'private',
    method: 'config',
    logout: true,
    retryMaxAttempts: 3,
    timeoutSeconds: 20,
  } as const;

  test('private: region from the job, endpoint and policy from the env and inputs', () => {
    expect(
      planLogin(
        { ...inputs, region: undefined, registries: ['123456789012'] },
        { AWS_DEFAULT_REGION: 'eu-west-2', AWS_ENDPOINT_URL_ECR: 'http://ecr' },
      ),
    ).toEqual({
      type: 'private',
      region: 'eu-west-2',
      registryIds: ['123456789012'],
      endpoint: 'http://ecr',
      policy: { maxAttempts: 3, deadlineMs: 20_000 },
      warnings: [],
    });
  });

  test('public: us-east-1 and one registry, whatever was given', () => {
    const plan = planLogin(
      { ...inputs, registryType: 'public', region: 'eu-west-1', registries: ['123456789012'] },
      {},
    );
    expect([plan.region, plan.registryIds]).toEqual(['us-east-1', []]);
    expect(plan.warnings).toEqual([
      'registries is ignored for ECR Public (one registry: public.ecr.aws)',
      'ECR Public tokens come from us-east-1; region eu-west-1 is not used',
    ]);
  });

  test('an endpoint variable no request can go to is exit 2 naming the variable (the fuzz test found it)', () => {
    for (const [env, name] of [
      [{ AWS_ENDPOINT_URL_ECR: 'true' }, 'AWS_ENDPOINT_URL_ECR'],
      [{ AWS_ENDPOINT_URL: 'registry.example.com:443' }, 'AWS_ENDPOINT_URL'],
      [{ AWS_ENDPOINT_URL_ECR: 'http://localhost:99999' }, 'AWS_ENDPOINT_URL_ECR'],
    ] as const) {
      expect(() => planLogin({ ...inputs, registries: [], region: 'eu-west-1' }, env)).toThrow(
        expect.objectContaining({
          exitCode: 2,
          message: expect.stringContaining(`${name}=`),
          hint: expect.stringContaining(name),
        }),
      );
    }
    for (const bad of ['AKIA\nFAKE', 'AKİA', ' AKIA'])
      expect(() =>
        planLogin(
          { ...inputs, registries: [], region: 'eu-west-1' },
          { AWS_ACCESS_KEY_ID: bad, AWS_SECRET_ACCESS_KEY: 's' },
        ),
      ).toThrow(
        expect.objectContaining({
          exitCode: 2,
          message: 'AWS_ACCESS_KEY_ID in the job holds spaces, line breaks, control or non-ASCII characters',
        }),
      );
    expect(() => planLogin({ ...inputs, registries: [], region: undefined }, { AWS_REGION: 'Ω≈ç√' })).toThrow(
      expect.objectContaining({ exitCode: 2, message: 'AWS_REGION="Ω≈ç√" is not an AWS region' }),
    );
    expect(() =>
      planLogin(
        { ...inputs, registries: [], region: undefined, registryType: 'public' },
        { AWS_ENDPOINT_URL_ECR_PUBLIC: 'ftp://x' },
      ),
    ).toThrow(/AWS_ENDPOINT_URL_ECR_PUBLIC="ftp:\/\/x" is not an http\(s\) URL/);
  });
});
