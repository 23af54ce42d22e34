// vault-secrets' inputs: the address and AppRole ids, secret locations (V_ variables and
// secrets lines), grouping by path, and the checks that fail before any request.
import { fromLines, fromPrefixedEnv, groupByPath, planVault } from '../../../../src/steps/vault-secrets/plan';
import { staticMount } from '../../../../src/lib/vault/read-secrets';
import { parseInputs } from '../../../../src/runtime/inputs';
import step from '../../../../src/steps/vault-secrets/index';

describe('locations', () => {
  test('the seed convention: mount first, key last, path between', () => {
    const r = fromPrefixedEnv(
      { V_FAKE_APP_PASSWORD: 'secret/fake-app/users/fake-user/password', OTHER: 'x', V_: 'secret/a/b' },
      'V_',
    );
    expect(r).toEqual([
      {
        name: 'FAKE_APP_PASSWORD',
        path: 'secret/fake-app/users/fake-user',
        key: 'password',
        source: 'V_FAKE_APP_PASSWORD',
      },
    ]);
  });

  test('a multi-segment mount is written with //', () => {
    const [r] = fromPrefixedEnv({ V_DB: 'teams/ci//app/db/password' }, 'V_');
    expect(r).toMatchObject({ name: 'DB', mount: 'teams/ci', path: 'teams/ci/app/db', key: 'password' });
    expect(staticMount(r!, '2')).toEqual({ where: { mount: 'teams/ci', version: '2' }, rest: 'app/db' });
    expect(staticMount({ path: 'secret/app/db' }, '1')).toEqual({
      where: { mount: 'secret', version: '1' },
      rest: 'app/db',
    });
  });

  test('a location without mount, path and key is refused, naming the variable', () => {
    expect(() => fromPrefixedEnv({ V_X: 'secret/password' }, 'V_')).toThrow(
      /V_X: 'secret\/password' is not a secret location/,
    );
  });

  test('explicit lines: NAME optional, ; separates', () => {
    const r = fromLines([
      'secret/fake-app/db password | DB_PASSWORD; secret/fake-app/db host',
      'kv/fake-app/legacy token|LEGACY',
    ]);
    expect(r.map((x) => [x.name, x.path, x.key])).toEqual([
      ['DB_PASSWORD', 'secret/fake-app/db', 'password'],
      ['HOST', 'secret/fake-app/db', 'host'],
      ['LEGACY', 'kv/fake-app/legacy', 'token'],
    ]);
    expect(() => fromLines(['secret/a/b key | 1BAD'])).toThrow(/secrets line 1: '1BAD' is not a valid variable name/);
    expect(() => fromLines(['just-one-field'])).toThrow(/secrets line 1/);
  });

  test('grouping: one entry per distinct path; a name asked twice is an error', () => {
    const g = groupByPath(fromLines(['secret/app/db password | A', 'secret/app/db host | B', 'secret/app/x k | C']));
    expect([...g.keys()]).toEqual(['secret/app/db', 'secret/app/x']);
    expect(g.get('secret/app/db')!.map((r) => r.name)).toEqual(['A', 'B']);
    expect(() => groupByPath(fromLines(['secret/app/db password | A', 'secret/app/x k | A']))).toThrow(
      /A is asked for twice \(secrets line 1 and secrets line 2\)/,
    );
  });
});

describe('step inputs (fail before any request)', () => {
  const runIt = async (env: Record<string, string>, argv: string[]) => {
    const { runStep } = await import('../../../../src/runtime/run');
    const step = (await import('../../../../src/steps/vault-secrets/index')).default;
    const err: string[] = [];
    const code = await runStep(step as never, {
      env,
      argv,
      viaCli: true,
      // A workspace of its own: the runtime's private dir must lie outside it.
      cwd: require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'vault-unit-ws-')),
      stdout: () => undefined,
      stderr: (s) => void err.push(s),
    });
    return { code, stderr: err.join('') };
  };
  test.each([
    [['--kv-version', '3'], {}, /input 'kv-version': '3' is not allowed/],
    [['--retry-max-attempts', '0'], {}, /input 'retry-max-attempts': must be a whole number from 1 to 20/],
    [['--export', 'dotenv'], {}, /input 'export': 'dotenv' is not allowed/],
    [[], { V_A: 'secret/a/b/c' }, /input 'url': no Vault address \(the input and VAULT_ADDR are empty\)/],
    [[], { V_A: 'secret/a/b/c', VAULT_ADDR: 'http://127.0.0.1:1' }, /input 'role-id': no AppRole role id/],
    [['--url', 'vault.example.com'], {}, /input 'url': 'vault.example.com' is not valid/],
  ])('%j %j exits 2', async (argv, env, msg) => {
    const r = await runIt({ PATH: '/usr/bin', ...env }, argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

describe('the plan', () => {
  const base = {
    url: undefined,
    roleId: undefined,
    secretId: undefined,
    namespace: undefined,
    prefix: 'V_',
    secrets: [] as string[],
  };
  test('inputs first, else the job variables; unexpanded variables count as empty', () => {
    const env = {
      VAULT_ADDR: 'https://vault.example.com',
      VAULT_ROLE_ID: 'role',
      VAULT_SECRET_ID: '$VAULT_SECRET_ID',
      VAULT_NAMESPACE: 'ns',
      V_A: 'secret/app/db/password',
      V_B: 'secret/app/db/user',
    };
    const p = planVault(base, env);
    expect(p).toMatchObject({
      url: 'https://vault.example.com',
      roleId: 'role',
      secretId: undefined,
      namespace: 'ns',
      count: 2,
    });
    expect([...p.groups.keys()]).toEqual(['secret/app/db']);
    expect(
      planVault({ ...base, url: 'http://other:8200', roleId: ' role-2 ', secrets: ['kv/x k | K'] }, env),
    ).toMatchObject({ url: 'http://other:8200', roleId: 'role-2', count: 1 });
  });

  test('bad locations exit 2; no secret at all exits 2 naming the input', () => {
    const env = { VAULT_ADDR: 'http://v:8200', VAULT_ROLE_ID: 'role' };
    expect(() => planVault({ ...base, secrets: ['secret/a/b key | 1BAD'] }, env)).toThrow(
      expect.objectContaining({ exitCode: 2, data: expect.objectContaining({ input: 'secrets' }) }),
    );
    expect(() => planVault(base, { ...env, V_X: 'secret/password' })).toThrow(
      expect.objectContaining({ exitCode: 2, data: expect.objectContaining({ source: 'V_X' }) }),
    );
    expect(() => planVault(base, env)).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: "input 'prefix': no V_* variables reach this job: nothing to read from Vault",
        hint: expect.stringContaining('define V_NAME=<mount>/<path>/<key> variables'),
      }),
    );
    // V_ variables that are empty or not variable names (V_1BAD) do not count
    expect(() => planVault(base, { ...env, V_: 'secret/a/b', V_EMPTY: ' ', V_1BAD: 'secret/a/b' })).toThrow(
      expect.objectContaining({ exitCode: 2, data: expect.objectContaining({ input: 'prefix' }) }),
    );
    expect(() => planVault({ ...base, secrets: ['# only a comment'] }, env)).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: "input 'secrets': lists no secret (only comments or empty items)",
      }),
    );
    expect(() => planVault(base, { VAULT_ADDR: 'vault:8200', V_A: 'secret/a/b/c' })).toThrow(
      /input 'url': VAULT_ADDR 'vault:8200' is not an http\(s\) URL/,
    );
  });
});

describe('credentials that cannot be masked (issue 13)', () => {
  const base2 = {
    url: undefined,
    roleId: undefined,
    secretId: undefined,
    namespace: undefined,
    prefix: 'V_',
    secrets: [],
  };
  const env = { VAULT_ADDR: 'http://v:8200', V_A: 'secret/a/b/c' };
  test.each([
    [{ ...env, VAULT_ROLE_ID: 'r' }, /input 'role-id': \(or VAULT_ROLE_ID\) is shorter than 4/],
    [
      { ...env, VAULT_ROLE_ID: 'role', VAULT_SECRET_ID: 'abc' },
      /input 'secret-id': \(or VAULT_SECRET_ID\) is shorter than 4/,
    ],
  ])('from the job variables: exit 2', (vars, message) => {
    expect(() => planVault(base2, vars)).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message) }),
    );
  });
  test('as inputs: refused by the declaration (exit 2)', () => {
    expect(() => parseInputs(step.inputs, { 'secret-id': 'x' })).toThrow(/input 'secret-id': is shorter than 4/);
    expect(() => parseInputs(step.inputs, { 'role-id': 'ab' })).toThrow(/input 'role-id': is shorter than 4/);
  });
});
