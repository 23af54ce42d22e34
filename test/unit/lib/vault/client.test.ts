// The Vault client and the reads over it, against a stubbed transport: KV version and mount
// handling, error wording (paths named, values never) and the classified retry.
import { VaultClient } from '../../../../src/lib/vault/client';
import { readSecrets, type SecretRequest } from '../../../../src/lib/vault/read-secrets';
import { ShiplineError } from '../../../../src/lib/util/errors';
import { cannedResponse, type HttpSend } from '../../../../src/lib/util/http';

/** Requests as the step's plan makes them from `<path> <key> | NAME` lines, grouped by path. */
function lines(...items: string[]): Map<string, SecretRequest[]> {
  const groups = new Map<string, SecretRequest[]>();
  items.forEach((item, i) => {
    const [, path, key, name] = /^(\S+) (\S+) \| (\S+)$/.exec(item)!;
    const list = groups.get(path!) ?? [];
    list.push({ name: name!, path: path!, key: key!, source: `secrets line ${i + 1}` });
    groups.set(path!, list);
  });
  return groups;
}

type Handler = (
  method: string,
  path: string,
  headers: Record<string, string>,
) => { status: number; body?: unknown; headers?: Record<string, string> };

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
  if (path.startsWith('/v1/sys/internal/ui/mounts/secret/'))
    return { status: 200, body: { data: { type: 'kv', path: 'secret/', options: { version: '2' } } } };
  if (path.startsWith('/v1/sys/internal/ui/mounts/kv/'))
    return { status: 200, body: { data: { type: 'kv', path: 'kv/', options: null } } };
  if (path === '/v1/secret/data/app/db')
    return { status: 200, body: { data: { data: { password: SECRET, port: 5432 } } } };
  if (path === '/v1/kv/app/legacy') return { status: 200, body: { data: { token: 't' } } };
  if (path === '/v1/secret/data/app/denied')
    return { status: 403, body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] } };
  if (path === '/v1/auth/token/revoke-self' && method === 'POST') return { status: 204 };
  return { status: 404, body: { errors: [] } };
};

const client = (fetchStub: HttpSend, extra: Partial<ConstructorParameters<typeof VaultClient>[0]> = {}) =>
  new VaultClient({
    url: 'http://vault.test:8200/',
    maxAttempts: 3,
    send: fetchStub,
    sleep: async () => undefined,
    ...extra,
  });

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
    const out = await readSecrets(
      c,
      lines('secret/app/db password | A', 'secret/app/db port | P', 'kv/app/legacy token | T'),
      'auto',
    );
    expect(out.map((v) => [v.name, v.value])).toEqual([
      ['A', SECRET],
      ['P', '5432'],
      ['T', 't'],
    ]);
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
    await readSecrets(c, lines('secret/app/db password | A'), '2');
    expect(calls.map((x) => x.path)).toEqual(['/v1/auth/approle/login', '/v1/secret/data/app/db']);
  });

  test('permission denied names the path and the policy path, never a value', async () => {
    const { fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'role', 'sid');
    const e = await failure(readSecrets(c, lines('secret/app/db password | A', 'secret/app/denied x | B'), 'auto'));
    expect(e.message).toBe("secrets line 2: permission denied reading 'secret/app/denied'");
    expect(e.hint).toContain('secret/data/app/denied');
    expect(`${e.message} ${e.hint}`).not.toContain(SECRET);
  });

  test('a missing path and a missing key are told apart; keys are listed, values are not', async () => {
    const { fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'role', 'sid');
    const missingPath = await failure(readSecrets(c, lines('secret/app/nope password | A'), 'auto'));
    expect(missingPath.message).toBe("secrets line 1: secret 'secret/app/nope' not found");
    const dataPath = await failure(readSecrets(c, lines('secret/data/app/db password | A'), 'auto'));
    expect(dataPath.hint).toBe("write the path without 'data/' (secret/app/db): the step adds data/ for KV v2");
    const missingKey = await failure(readSecrets(c, lines('secret/app/db passwd | A'), 'auto'));
    expect(missingKey.message).toBe("secrets line 1: key 'passwd' not found in secret 'secret/app/db'");
    expect(missingKey.hint).toBe('keys there: password, port');
    expect(`${missingKey.message} ${missingKey.hint}`).not.toContain(SECRET);
  });

  test('// names a mount that Vault contradicts', async () => {
    const { fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'role', 'sid');
    const e = await failure(
      readSecrets(
        c,
        new Map([
          [
            'secret/app/db',
            [{ name: 'A', path: 'secret/app/db', key: 'password', mount: 'secret/app', source: 'V_A' }],
          ],
        ]),
        'auto',
      ),
    );
    expect(e.message).toMatch(/'secret\/app' is not a mount; Vault says 'secret\/app\/db' is under 'secret'/);
  });

  test('a bad secret id is not retried', async () => {
    const { calls, fetchStub } = fakeVault(() => ({ status: 400, body: { errors: ['invalid role or secret ID'] } }));
    const e = await failure(client(fetchStub).login('approle', 'role', 'sid'));
    expect(e.message).toBe('AppRole login at auth/approle failed: invalid role or secret ID');
    expect(e).toMatchObject({
      kind: 'auth',
      data: expect.objectContaining({ status: 400, problem: 'login-rejected' }),
    });
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
    expect(e.message).toBe(
      'AppRole login at auth/approle failed: Vault at http://vault.test:8200 is sealed (gave up after 3 attempts: HTTP 503)',
    );
    expect(e).toMatchObject({
      kind: 'transient',
      data: expect.objectContaining({ attempts: 3, status: 503, problem: 'sealed' }),
    });
    expect(e.hint).toBe('ask the Vault operators to unseal it, then re-run the job');
  });

  test('a 5xx then success costs one extra request', async () => {
    let n = 0;
    const { calls, fetchStub } = fakeVault((m, p, h) =>
      n++ === 0 ? { status: 500, body: { errors: ['boom'] }, headers: { 'retry-after': '0' } } : standard(m, p, h),
    );
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
    expect(e.message).toBe(
      'AppRole login at auth/approle failed: could not reach Vault at http://vault.test:8200 (gave up after 3 attempts: ECONNREFUSED)',
    );
    expect(e.data).toMatchObject({ attempts: 3, problem: 'unreachable' });
  });

  test('403 and 404 are never retried', async () => {
    const { calls, fetchStub } = fakeVault(standard);
    const c = client(fetchStub);
    await c.login('approle', 'r', 's');
    await failure(readSecrets(c, lines('secret/app/denied x | B'), '2'));
    await failure(readSecrets(c, lines('secret/app/nope x | B'), '2'));
    expect(calls).toHaveLength(3);
  });
});
