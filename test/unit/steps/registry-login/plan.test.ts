// registry-login's plan: every input error is an InputError (exit 2) naming the input,
// never showing a secret; the GHCR / GitLab registry defaults; registries lines and
// docker/login-action's registry-auth.
import { ShiplineError } from '../../../../src/lib/util/errors';
import { parseInputs } from '../../../../src/runtime/inputs';
import { inputs, type Inputs } from '../../../../src/steps/registry-login/index';
import { normalizeHost, parseRegistryAuth, planLogin } from '../../../../src/steps/registry-login/plan';

const SECRET = 'CANARY-unit-5f3a9c';
const parse = (raw: Record<string, string>) => parseInputs(inputs, raw) as Inputs;
const plan = (raw: Record<string, string>, env: Record<string, string> = {}) => planLogin(parse(raw), env);

function inputError(fn: () => unknown): ShiplineError & { input: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShiplineError);
    const err = e as ShiplineError & { input: string };
    expect(err.kind).toBe('input');
    expect(err.exitCode).toBe(2);
    expect(`${err.message} ${err.hint ?? ''}`).not.toContain(SECRET);
    return err;
  }
  throw new Error('expected an input error');
}

describe('normalizeHost', () => {
  test.each([
    ['ghcr.io', 'ghcr.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['127.0.0.1:5002', '127.0.0.1:5002'],
    ['registry.example.com:5000/some/path', 'registry.example.com:5000'],
    ['[::1]:5000', '[::1]:5000'],
  ])('%s → %s', (raw, host) => expect(normalizeHost(raw)).toBe(host));
  test.each(['', 'a b', 'host:port', '-bad.example', 'x_y.example', 'héllo.example'])('%j is not a host', (raw) =>
    expect(normalizeHost(raw)).toBeUndefined(),
  );
});

describe('one registry', () => {
  test('registry, username, password', () => {
    const p = plan({ registry: 'quay.io', username: 'bot', password: SECRET });
    expect(p.logins).toEqual([
      expect.objectContaining({ host: 'quay.io', key: 'quay.io', username: 'bot', password: SECRET }),
    ]);
    expect(p.logout).toBe(true);
  });
  test('Docker Hub by default, under its legacy config key', () => {
    const p = plan({ username: 'bot', password: SECRET });
    expect(p.logins[0]).toMatchObject({ host: 'docker.io', key: 'https://index.docker.io/v1/' });
  });
  test('a password line end is dropped, as docker login --password-stdin does', () => {
    expect(plan({ registry: 'quay.io', username: 'u', password: `${SECRET}\n` }).logins[0]!.password).toBe(SECRET);
  });
  test('ghcr.io on GitHub: GITHUB_ACTOR and github-token', () => {
    const p = plan({ registry: 'ghcr.io', 'github-token': SECRET }, { GITHUB_ACTIONS: 'true', GITHUB_ACTOR: 'octo' });
    expect(p.logins[0]).toMatchObject({ username: 'octo', password: SECRET });
    expect(p.logins[0]!.source).toMatch(/GITHUB_ACTOR.*github-token/);
  });
  test('GitLab: $CI_REGISTRY with CI_REGISTRY_USER / CI_REGISTRY_PASSWORD, then CI_JOB_TOKEN', () => {
    const gl = { GITLAB_CI: 'true', CI_REGISTRY: 'registry.gitlab.example:5050' };
    expect(
      plan({}, { ...gl, CI_REGISTRY_USER: 'gitlab-ci-token', CI_REGISTRY_PASSWORD: SECRET }).logins[0],
    ).toMatchObject({
      host: 'registry.gitlab.example:5050',
      username: 'gitlab-ci-token',
      password: SECRET,
      source: 'CI_REGISTRY_USER / CI_REGISTRY_PASSWORD',
    });
    expect(plan({}, { ...gl, CI_JOB_TOKEN: SECRET }).logins[0]).toMatchObject({ username: 'gitlab-ci-token' });
  });
  test('ECR with user AWS (a get-login-password token), or with ecr: false', () => {
    const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    expect(plan({ registry: host, username: 'AWS', password: SECRET }).logins).toHaveLength(1);
    expect(plan({ registry: host, username: 'AKIAX', password: SECRET, ecr: 'false' }).logins).toHaveLength(1);
  });
});

describe('several registries', () => {
  test('registries lines name variables; a bare ghcr.io takes the GitHub defaults', () => {
    const p = plan(
      {
        registry: 'quay.io',
        username: 'bot',
        password: SECRET,
        registries: 'registry.example.com:5000 R_USER R_PASS\n# a comment\nghcr.io',
        'github-token': `${SECRET}-3`,
      },
      { R_USER: 'ci', R_PASS: `${SECRET}-2`, GITHUB_ACTIONS: 'true', GITHUB_ACTOR: 'octo', INPUT_X: '' },
    );
    expect(p.logins.map((l) => [l.key, l.username, l.source])).toEqual([
      ['quay.io', 'bot', 'inputs username / password'],
      ['registry.example.com:5000', 'ci', 'variables R_USER / R_PASS'],
      ['ghcr.io', 'octo', expect.stringMatching(/^registries line 2, user GITHUB_ACTOR/)],
    ]);
  });
  test('only registries: no Docker Hub login is added', () => {
    const p = plan({ registries: 'a.example U P' }, { U: 'u', P: SECRET });
    expect(p.logins.map((l) => l.key)).toEqual(['a.example']);
  });
  test('registry-auth (YAML) as docker/login-action takes it', () => {
    const p = plan({
      'registry-auth': `- username: hub\n  password: ${SECRET}\n- registry: ghcr.io\n  username: "octo"\n  password: '${SECRET}-2'\n`,
    });
    expect(p.logins.map((l) => [l.key, l.username, l.password])).toEqual([
      ['https://index.docker.io/v1/', 'hub', SECRET],
      ['ghcr.io', 'octo', `${SECRET}-2`],
    ]);
  });
  test('registry-auth as JSON', () => {
    const items = parseRegistryAuth(JSON.stringify([{ registry: 'quay.io', username: 'u', password: SECRET }]));
    expect(items).toEqual([{ registry: 'quay.io', username: 'u', password: SECRET }]);
  });
});

describe('every input error exits 2 naming the input', () => {
  const gh = { GITHUB_ACTIONS: 'true', GITHUB_ACTOR: 'octo' };
  test.each<[string, Record<string, string>, Record<string, string>, string, RegExp]>([
    ['nothing at all', {}, {}, 'registry', /no username and password for docker\.io/],
    ['username only', { username: 'u' }, {}, 'password', /is required for docker\.io/],
    ['password only', { password: SECRET }, {}, 'username', /is required/],
    ['a bad host', { registry: 'not a host', username: 'u', password: SECRET }, {}, 'registry', /not a registry host/],
    ['a short password', { registry: 'quay.io', username: 'u', password: 'abc' }, {}, 'password', /shorter than 4/],
    ['a colon in the user name', { registry: 'quay.io', username: 'a:b', password: SECRET }, {}, 'username', /colon/],
    [
      'a line break in the user name',
      { registry: 'quay.io', username: 'a\nb', password: SECRET },
      {},
      'username',
      /line break/,
    ],
    ['scope', { username: 'u', password: SECRET, scope: 'org/app@push' }, {}, 'scope', /not supported/],
    ['ecr: true', { username: 'u', password: SECRET, ecr: 'true' }, {}, 'ecr', /not supported/],
    ['ecr: maybe', { username: 'u', password: SECRET, ecr: 'maybe' }, {}, 'ecr', /not allowed/],
    [
      'an ECR host with access keys',
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', username: 'AKIAX', password: SECRET },
      {},
      'registry',
      /Amazon ECR registry/,
    ],
    [
      'ECR Public with access keys',
      { registry: 'public.ecr.aws', username: 'AKIAX', password: SECRET },
      {},
      'registry',
      /ECR/,
    ],
    ['logout: maybe', { username: 'u', password: SECRET, logout: 'maybe' }, {}, 'logout', /not a boolean/],
    ['a two-field line', { registries: 'quay.io U' }, { U: 'u' }, 'registries', /line 1 has 2 fields/],
    ['a four-field line', { registries: 'quay.io U P X' }, {}, 'registries', /more than three fields/],
    [
      'a bad host in a line',
      { registries: 'bad_host:x U P' },
      { U: 'u', P: SECRET },
      'registries',
      /not a registry host/,
    ],
    ['a $NAME in a line', { registries: 'quay.io $U $P' }, {}, 'registries', /'\$U' is not a variable name/],
    [
      'a value in a line',
      { registries: `quay.io U ${SECRET}!` },
      { U: 'u' },
      'registries',
      /'…' is not a variable name/,
    ],
    ['an unset variable', { registries: 'quay.io U P' }, { U: 'u' }, 'registries', /variable P is not set/],
    [
      'a short password in a variable',
      { registries: 'quay.io U P' },
      { U: 'u', P: 'ab' },
      'registries',
      /shorter than 4/,
    ],
    [
      'a bare host without defaults',
      { registries: 'quay.io' },
      gh,
      'registries',
      /no username and password for quay\.io/,
    ],
    ['ghcr.io off GitHub', { registries: 'ghcr.io' }, {}, 'registries', /no username and password for ghcr\.io/],
    [
      'the same registry twice',
      { registry: 'quay.io', username: 'u', password: SECRET, registries: 'QUAY.io U P' },
      { U: 'u', P: SECRET },
      'registries',
      /twice/,
    ],
    [
      'Docker Hub twice under two names',
      { username: 'u', password: SECRET, registries: 'index.docker.io U P' },
      { U: 'u', P: SECRET },
      'registries',
      /twice/,
    ],
    [
      'registry-auth with registry',
      { registry: 'quay.io', 'registry-auth': `- username: u\n  password: ${SECRET}` },
      {},
      'registry-auth',
      /cannot be used with registry/,
    ],
    [
      'registry-auth with ecr',
      { ecr: 'false', 'registry-auth': `- username: u\n  password: ${SECRET}` },
      {},
      'registry-auth',
      /cannot be used with ecr/,
    ],
    [
      'registry-auth not a list',
      { 'registry-auth': `username: u\npassword: ${SECRET}` },
      {},
      'registry-auth',
      /line 1 is neither/,
    ],
    [
      'registry-auth unknown key',
      { 'registry-auth': `- user: u\n  password: ${SECRET}` },
      {},
      'registry-auth',
      /unknown key 'user'/,
    ],
    [
      'registry-auth key twice',
      { 'registry-auth': `- username: u\n  username: v` },
      {},
      'registry-auth',
      /given twice/,
    ],
    [
      'registry-auth open quote',
      { 'registry-auth': `- username: u\n  password: "${SECRET}` },
      {},
      'registry-auth',
      /not closed/,
    ],
    ['registry-auth bad JSON', { 'registry-auth': `[{"password": "${SECRET}"` }, {}, 'registry-auth', /not valid JSON/],
    ['registry-auth JSON non-string', { 'registry-auth': '[{"username": 1}]' }, {}, 'registry-auth', /not a string/],
    ['registry-auth empty list', { 'registry-auth': '[]' }, {}, 'registry-auth', /holds no registry/],
    [
      'registry-auth item without password',
      { 'registry-auth': '- registry: quay.io\n  username: u' },
      {},
      'password',
      /is required for quay\.io/,
    ],
    [
      'registry-auth scope',
      { 'registry-auth': `- username: u\n  password: ${SECRET}\n  scope: x@push` },
      {},
      'registry-auth',
      /scope is not supported/,
    ],
  ])('%s', (_, raw, env, input, message) => {
    const err = inputError(() => plan(raw, env));
    expect(err.input).toBe(input);
    expect(err.message).toMatch(message);
  });
});

describe('hostile values: every input either plans or is an input error (exit 2), never anything else', () => {
  // A small deterministic PRNG: the same values on every run.
  let seed = 0x5eed;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const PIECES = [
    '',
    ' ',
    '\n',
    '\r\n',
    '\t',
    ':',
    '/',
    '@',
    '#',
    '$',
    '${{ x }}',
    '{{raw}}',
    '"',
    "'",
    '\\',
    '-',
    '.',
    '..',
    '[::1]',
    ':5000',
    'é',
    '💥',
    '\u0000',
    'ghcr.io',
    'docker.io',
    'https://',
    '127.0.0.1',
    'public.ecr.aws',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    'AWS',
    'U',
    'P',
    'VAR_1',
    '- ',
    'registry: ',
    'password: ',
    'username: ',
    '[',
    ']',
    '{',
    '}',
    ',',
    'true',
    'false',
    'auto',
    'x'.repeat(300),
  ];
  const value = () => Array.from({ length: rnd(6) }, () => PIECES[rnd(PIECES.length)]!).join('');
  const names = Object.keys(inputs);
  const env = {
    U: 'user',
    P: SECRET,
    VAR_1: 'v',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTOR: 'octo',
    CI_REGISTRY: 'ghcr.io',
  };
  test('600 random input sets', () => {
    let planned = 0;
    let refused = 0;
    for (let n = 0; n < 600; n++) {
      const raw: Record<string, string> = {};
      // secret inputs carry the canary: no message may show it
      for (const name of names)
        if (rnd(3) === 0)
          raw[name] =
            (inputs[name as keyof typeof inputs] as { secret?: boolean }).secret === true && rnd(2)
              ? SECRET + value()
              : value();
      try {
        const p = planLogin(parse(raw), env);
        expect(p.logins.length).toBeGreaterThan(0);
        planned++;
      } catch (e) {
        expect(e).toBeInstanceOf(ShiplineError);
        const err = e as ShiplineError;
        if (err.kind !== 'input') throw e;
        expect(err.exitCode).toBe(2);
        expect(err.message).toMatch(/^input '[a-z-]+': /);
        expect(`${err.message} ${err.hint ?? ''}`).not.toContain(SECRET);
        refused++;
      }
    }
    expect(planned + refused).toBe(600);
    expect(planned).toBeGreaterThan(0);
  });
});

describe('auth-config-variable: a docker config JSON held in a variable', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const json = JSON.stringify({
    auths: {
      'harbor.example.com': { auth: b64(`robot$ci:${SECRET}`) },
      'https://index.docker.io/v1/': { username: 'me', password: `${SECRET}-hub` },
    },
  });
  test('each auths entry is a login from that variable, raw or base64', () => {
    for (const value of [json, b64(json)]) {
      const masked: string[] = [];
      const p = planLogin(parse({ 'auth-config-variable': 'HARBOR_JSON' }), { HARBOR_JSON: value }, (v) =>
        masked.push(v),
      );
      expect(p.logins.map((l) => [l.host, l.username, l.source])).toEqual([
        ['harbor.example.com', 'robot$ci', 'variable HARBOR_JSON'],
        ['docker.io', 'me', 'variable HARBOR_JSON'],
      ]);
      expect(masked).toEqual(expect.arrayContaining([SECRET, `${SECRET}-hub`]));
    }
  });
  test.each([
    [{}, /variable HARBOR_JSON is not set/],
    [{ HARBOR_JSON: 'not json' }, /variable HARBOR_JSON is neither JSON nor base64/],
    [{ HARBOR_JSON: '{"auths":{}}' }, /variable HARBOR_JSON has no registry entries/],
    [
      { HARBOR_JSON: '{"credHelpers":{"1.dkr.ecr.eu-west-1.amazonaws.com":"ecr-login"}}' },
      /credHelpers .*ecr-login step/,
    ],
  ])('%j → exit 2 naming the input', (env, message) => {
    const err = inputError(() => plan({ 'auth-config-variable': 'HARBOR_JSON' }, env as Record<string, string>));
    expect(err.input).toBe('auth-config-variable');
    expect(`${err.message} ${err.hint ?? ''}`).toMatch(message);
  });
  test('a value instead of a name, and together with registry-auth, are refused', () => {
    expect(() => parse({ 'auth-config-variable': '{"auths":{}}' })).toThrow(/auth-config-variable/);
    const err = inputError(() =>
      plan(
        {
          'auth-config-variable': 'HARBOR_JSON',
          'registry-auth': '- registry: x.example\n  username: u\n  password: pppp',
        },
        { HARBOR_JSON: json },
      ),
    );
    expect(err.message).toMatch(/cannot be used with registry-auth/);
  });
});
