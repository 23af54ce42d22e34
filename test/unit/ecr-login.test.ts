// ecr-login's pure parts: token decoding (secrets registered before use), registry hosts,
// error hints, input errors before any call, and the post that restores the docker config
// exactly from saved state (GitLab/CLI runtime, state file).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAuthorization, explainEcr, registryHost } from '../../src/lib/aws/ecr';
import { endpointFor, regionFrom } from '../../src/lib/aws/client';
import { ShiplineError } from '../../src/lib/util/errors';
import { addAuths } from '../../src/lib/registry/docker-config';
import { runStep } from '../../src/runtime/run';
import step from '../../src/steps/ecr-login/index';

const capture = () => {
  let out = '';
  return { text: () => out, opts: { stdout: (s: string) => void (out += s), stderr: (s: string) => void (out += s) } };
};

describe('ECR authorization data', () => {
  test('user:password decoded; token and password registered as secrets first', () => {
    const secrets: string[] = [];
    const token = Buffer.from('AWS:pa:ss').toString('base64');
    expect(decodeAuthorization(token, (s) => secrets.push(s))).toEqual({ username: 'AWS', password: 'pa:ss' });
    expect(secrets).toEqual([token, 'pa:ss']);
    expect(() => decodeAuthorization(Buffer.from('nocolon').toString('base64'), () => undefined)).toThrow(/not user:password/);
  });

  test('registry host from the proxy endpoint', () => {
    expect(registryHost('https://123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(registryHost('http://127.0.0.1:5002/')).toBe('127.0.0.1:5002');
  });

  test('region and endpoint come from inputs, then the job env', () => {
    expect(regionFrom(undefined, { AWS_DEFAULT_REGION: 'eu-west-2' })).toBe('eu-west-2');
    expect(regionFrom('us-east-2', { AWS_REGION: 'eu-west-1' })).toBe('us-east-2');
    expect(endpointFor({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_ECR: 'http://b' }, 'ECR')).toBe('http://b');
    expect(endpointFor({ AWS_ENDPOINT_URL: 'http://a' }, 'ECR_PUBLIC')).toBe('http://a');
  });

  test('error hints name the missing permission or credentials', () => {
    const denied = explainEcr(Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }), { type: 'private', region: 'eu-west-1', registryIds: [] }) as ShiplineError;
    expect(denied.hint).toContain('ecr:GetAuthorizationToken');
    const pub = explainEcr(Object.assign(new Error('no'), { name: 'AccessDeniedException' }), { type: 'public', region: 'us-east-1', registryIds: [] }) as ShiplineError;
    expect(pub.hint).toContain('sts:GetServiceBearerToken');
    const none = explainEcr(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), { type: 'private', region: 'eu-west-1', registryIds: [] }) as ShiplineError;
    expect(none.hint).toContain('run assume-role before this step');
  });
});

describe('ecr-login inputs (exit 2 before any call)', () => {
  test.each([
    [['--registries', '12345'], /input 'registries': '12345' is not valid/],
    [['--registry-type', 'other'], /input 'registry-type': 'other' is not allowed/],
    [['--method', 'curl'], /input 'method'/],
    [['--retry-max-attempts', '0'], /whole number from 1 to 20/],
  ])('%j', async (argv, message) => {
    const c = capture();
    expect(await runStep(step, { env: { AWS_REGION: 'eu-west-1' }, argv, viaCli: true, cwd: tmpdir(), ...c.opts })).toBe(2);
    expect(c.text()).toMatch(message);
  });

  test('no region for a private registry', async () => {
    const c = capture();
    expect(await runStep(step, { env: {}, argv: [], viaCli: true, cwd: tmpdir(), ...c.opts })).toBe(2);
    expect(c.text()).toMatch(/input 'region': is required/);
  });
});

describe('ecr-login post restores the docker config from saved state', () => {
  const dirs: string[] = [];
  const mkdtemp = (prefix: string) => {
    const d = mkdtempSync(prefix);
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  test('an entry it replaced comes back, one it added goes, others stay', async () => {
    const dir = mkdtemp(join(tmpdir(), 'shipline-ecr-unit-'));
    const config = join(dir, 'docker', 'config.json');
    const before = { auths: { 'other.example': { auth: 'b3RoZXI6eA==' }, '123456789012.dkr.ecr.eu-west-1.amazonaws.com': { auth: 'b2xkOng=' } }, credHelpers: { 'x.example': 'pass' } };
    mkdirSync(join(dir, 'docker'));
    writeFileSync(config, JSON.stringify(before));
    const added = addAuths(config, [
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', username: 'AWS', password: 'p1' },
      { registry: '210987654321.dkr.ecr.eu-west-1.amazonaws.com', username: 'AWS', password: 'p2' },
    ]);
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    writeFileSync(join(stateDir, 'ecr-login.json'), JSON.stringify({ added: JSON.stringify({ path: config, method: 'config', createdFile: false, hadAuths: added.hadAuths, previous: added.previous }) }));
    const c = capture();
    const code = await runStep(step, { env: { SHIPLINE_STATE_DIR: stateDir, DOCKER_CONFIG: join(dir, 'docker') }, argv: ['--post'], viaCli: true, cwd: dir, ...c.opts });
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual(before);
    expect(c.text()).toMatch(/restored the entries they replaced/);
  });

  test.each([[{ auths: {}, credsStore: 'desktop' }], [{ credsStore: 'desktop' }]])('a config %j comes back exactly (empty auths kept or absent)', async (before) => {
    const dir = mkdtemp(join(tmpdir(), 'shipline-ecr-unit-'));
    mkdirSync(join(dir, 'docker'));
    const config = join(dir, 'docker', 'config.json');
    writeFileSync(config, JSON.stringify(before));
    const added = addAuths(config, [{ registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', username: 'AWS', password: 'p' }]);
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    writeFileSync(join(stateDir, 'ecr-login.json'), JSON.stringify({ added: JSON.stringify({ path: config, method: 'config', createdFile: false, hadAuths: 'auths' in before, previous: added.previous }) }));
    expect(await runStep(step, { env: { SHIPLINE_STATE_DIR: stateDir }, argv: ['--post'], viaCli: true, cwd: dir, ...capture().opts })).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual(before);
    expect(JSON.parse(readFileSync(join(stateDir, 'ecr-login.json'), 'utf8'))).toEqual({ added: '' }); // the copy of replaced entries is dropped
  });

  test('no saved state (logout: false, or main never ran): post changes nothing', async () => {
    const dir = mkdtemp(join(tmpdir(), 'shipline-ecr-unit-'));
    const c = capture();
    expect(await runStep(step, { env: { SHIPLINE_STATE_DIR: join(dir, 'state'), DOCKER_CONFIG: join(dir, 'docker') }, argv: ['--post'], viaCli: true, cwd: dir, ...c.opts })).toBe(0);
    expect(existsSync(join(dir, 'docker', 'config.json'))).toBe(false);
  });
});
