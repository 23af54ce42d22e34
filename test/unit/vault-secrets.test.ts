// vault-secrets logic with a stubbed fetch: locations, grouping, KV version/mount handling,
// error wording (paths named, values never) and the classified retry.
import { VaultClient } from '../../src/lib/vault/client';
import { fromLines, fromPrefixedEnv, groupByPath } from '../../src/lib/vault/locations';
import { readSecrets, staticMount } from '../../src/lib/vault/read-secrets';
import { ShiplineError } from '../../src/lib/util/errors';
import { cannedResponse, type HttpSend } from '../../src/lib/util/http';

describe('locations', () => {
  test('the seed convention: mount first, key last, path between', () => {
    const r = fromPrefixedEnv({ V_FAKE_APP_PASSWORD: 'secret/fake-app/users/fake-user/password', OTHER: 'x', V_: 'secret/a/b' }, 'V_');
    expect(r).toEqual([{ name: 'FAKE_APP_PASSWORD', path: 'secret/fake-app/users/fake-user', key: 'password', source: 'V_FAKE_APP_PASSWORD' }]);
  });

  test('a multi-segment mount is written with //', () => {
    const [r] = fromPrefixedEnv({ V_DB: 'teams/ci//app/db/password' }, 'V_');
    expect(r).toMatchObject({ name: 'DB', mount: 'teams/ci', path: 'teams/ci/app/db', key: 'password' });
    expect(staticMount(r!, '2')).toEqual({ where: { mount: 'teams/ci', version: '2' }, rest: 'app/db' });
    expect(staticMount({ path: 'secret/app/db' }, '1')).toEqual({ where: { mount: 'secret', version: '1' }, rest: 'app/db' });
  });

  test('a location without mount, path and key is refused, naming the variable', () => {
    expect(() => fromPrefixedEnv({ V_X: 'secret/password' }, 'V_')).toThrow(/V_X: 'secret\/password' is not a secret location/);
  });

  test('explicit lines: NAME optional, ; separates', () => {
    const r = fromLines(['secret/fake-app/db password | DB_PASSWORD; secret/fake-app/db host', 'kv/fake-app/legacy token|LEGACY']);
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
    expect(() => groupByPath(fromLines(['secret/app/db password | A', 'secret/app/x k | A']))).toThrow(/A is asked for twice \(secrets line 1 and secrets line 2\)/);
  });
});

type Handler = (method: string, path: string, headers: Record<string, string>) => { status: number; body?: unknown; headers?: Record<string, string> };

function fakeVault(handler: Handler) {
  const calls: { method: string; path: string; headers: Record<string, string> }[] = [];
  const fetchStub: HttpSend = async (input, req) => {
    const url = new URL(input);
    calls.push({ method: req.method, path: url.pathname, headers: req.headers });
    const r = handler(req.method, url.pathname, req.headers);
    return cannedResponse(r.status, r.headers ?? {}, r.body === undefined ? '' : JSON.stringify(r.body));
  };
  return { calls, fetchStub };
}

const SECRET = 'value-that-must-not-leak';
const standard: Handler = (method, path) => {
  if (path === '/v1/auth/approle/login') return { status: 200, body: { auth: { client_token: 'hvs.test' } } };
  if (path.startsWith('/v1/sys/internal/ui/mounts/secret/')) return { status: 200, body: { data: { type: 'kv', path: 'secret/', options: { version: '2' } } } };
  if (path.startsWith('/v1/sys/internal/ui/mounts/kv/')) return { status: 200, body: { data: { type: 'kv', path: 'kv/', options: null } } };
  if (path === '/v1/secret/data/app/db') return { status: 200, body: { data: { data: { password: SECRET, port: 5432 } } } };
  if (path === '/v1/kv/app/legacy') return { status: 200, body: { data: { token: 't' } } };
  if (path === '/v1/secret/data/app/denied') return { status: 403, body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] } };
  if (path === '/v1/auth/token/revoke-self' && method === 'POST') return { status: 204 };
  return { status: 404, body: { errors: [] } };
};

const client = (fetchStub: HttpSend, extra: Partial<ConstructorParameters<typeof VaultClient>[0]> = {}) =>
  new VaultClient({ url: 'http://vault.test:8200/', maxAttempts: 3, send: fetchStub, sleep: async () => undefined, ...extra });

async function failure(p: Promise<unknown>): Promise<ShiplineError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ShiplineError);
    return e as ShiplineError;
  }
  throw new Error('expected a failure');
}

describe('reading', () => {
  test('auto: one probe per mount, one read per path, non-strings as JSON, namespace header on every call', async () => {
    const { calls, fetchStub } = fakeVault(standard);
    const c = client(fetchStub, { namespace: 'team-a' });
    await c.login('approle', 'role', 'sid');
    const out = await readSecrets(c, groupByPath(fromLines(['secret/app/db password | A', 'secret/app/db port | P', 'kv/app/legacy token | T'])), 'auto');
    expect(out.map((v) => [v.name, v.value])).toEqual([['A', SECRET], ['P', '5432'], ['T', 't']]);
    expect(calls.map((x) => `${x.method} ${x.path}`)).toEqual([
      'POST /v1/auth/approle/login',
      'GET /v1/sys/internal/ui/mounts/secret/app/db',
      'GET /v1/secret/data/app/db',
      'GET /v1/sys/internal/ui/mounts/kv/app/legacy',
      'GET /v1/kv/app/legacy',
    ]);
    expect(calls.every((x) => x.headers['x-vault-namespace'] === 'team-a')).toBe(true);
    expect(calls.slice(1).every((x) => x.headers['x-vault-token'] === 'hvs.test')).toBe(true);
  });

  test('fixed kv-version: no probe', async () => {
    const { calls, fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'role', undefined);
    await readSecrets(c, groupByPath(fromLines(['secret/app/db password | A'])), '2');
    expect(calls.map((x) => x.path)).toEqual(['/v1/auth/approle/login', '/v1/secret/data/app/db']);
  });

  test('permission denied names the path and the policy path, never a value', async () => {
    const { fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'role', 'sid');
    const e = await failure(readSecrets(c, groupByPath(fromLines(['secret/app/db password | A', 'secret/app/denied x | B'])), 'auto'));
    expect(e.message).toBe("secrets line 2: permission denied reading 'secret/app/denied'");
    expect(e.hint).toContain('secret/data/app/denied');
    expect(`${e.message} ${e.hint}`).not.toContain(SECRET);
  });

  test('a missing path and a missing key are told apart; keys are listed, values are not', async () => {
    const { fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'role', 'sid');
    const missingPath = await failure(readSecrets(c, groupByPath(fromLines(['secret/app/nope password | A'])), 'auto'));
    expect(missingPath.message).toBe("secrets line 1: secret 'secret/app/nope' not found");
    const dataPath = await failure(readSecrets(c, groupByPath(fromLines(['secret/data/app/db password | A'])), 'auto'));
    expect(dataPath.hint).toBe("write the path without 'data/' (secret/app/db): the step adds data/ for KV v2");
    const missingKey = await failure(readSecrets(c, groupByPath(fromLines(['secret/app/db passwd | A'])), 'auto'));
    expect(missingKey.message).toBe("secrets line 1: key 'passwd' not found in secret 'secret/app/db'");
    expect(missingKey.hint).toBe('keys there: password, port');
    expect(`${missingKey.message} ${missingKey.hint}`).not.toContain(SECRET);
  });

  test('// names a mount that Vault contradicts', async () => {
    const { fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'role', 'sid');
    const e = await failure(readSecrets(c, groupByPath(fromPrefixedEnv({ V_A: 'secret/app//db/password' }, 'V_')), 'auto'));
    expect(e.message).toMatch(/'secret\/app' is not a mount; Vault says 'secret\/app\/db' is under 'secret'/);
  });

  test('a bad secret id is not retried', async () => {
    const { calls, fetchStub } = fakeVault(() => ({ status: 400, body: { errors: ['invalid role or secret ID'] } }));
    const e = await failure(client(fetchStub).login('approle', 'role', 'sid'));
    expect(e.message).toBe('AppRole login at auth/approle failed: invalid role or secret ID');
    expect(calls).toHaveLength(1);
  });
});

describe('retries', () => {
  test('sealed (503) is retried, then reported as sealed after maxAttempts', async () => {
    const { calls, fetchStub } = fakeVault(() => ({ status: 503, body: { errors: ['Vault is sealed'] } }));
    const retries: string[] = [];
    const e = await failure(client(fetchStub, { onRetry: (m) => retries.push(m) }).login('approle', 'r', 's'));
    expect(calls).toHaveLength(3);
    expect(retries).toHaveLength(2);
    expect(e.message).toBe('AppRole login at auth/approle failed after 3 attempts: Vault at http://vault.test:8200 is sealed');
  });

  test('a 5xx then success costs one extra request', async () => {
    let n = 0;
    const { calls, fetchStub } = fakeVault((m, p, h) => (n++ === 0 ? { status: 500, body: { errors: ['boom'] }, headers: { 'retry-after': '0' } } : standard(m, p, h)));
    await client(fetchStub).login('approle', 'r', 's');
    expect(calls).toHaveLength(2);
  });

  test('an unreachable Vault is retried and named', async () => {
    let n = 0;
    const fetchStub: HttpSend = async () => {
      n++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8200'), { code: 'ECONNREFUSED' });
    };
    const e = await failure(client(fetchStub).login('approle', 'r', 's'));
    expect(n).toBe(3);
    expect(e.message).toBe('AppRole login at auth/approle failed after 3 attempts: could not reach Vault at http://vault.test:8200 (ECONNREFUSED)');
  });

  test('403 and 404 are never retried', async () => {
    const { calls, fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'r', 's');
    await failure(readSecrets(c, groupByPath(fromLines(['secret/app/denied x | B'])), '2'));
    await failure(readSecrets(c, groupByPath(fromLines(['secret/app/nope x | B'])), '2'));
    expect(calls).toHaveLength(3);
  });
});

describe('step inputs (fail before any request)', () => {
  const runIt = async (env: Record<string, string>, argv: string[]) => {
    const { runStep } = await import('../../src/runtime/run');
    const step = (await import('../../src/steps/vault-secrets/index')).default;
    const err: string[] = [];
    const code = await runStep(step as never, { env, argv, viaCli: true, cwd: require('node:os').tmpdir(), stdout: () => undefined, stderr: (s) => void err.push(s) });
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
