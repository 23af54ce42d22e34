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
});
