// vault-secrets against the bench's loopback Vault (real HTTP, AppRole, KV v1/v2, policies):
// the step runs in-process on the GitLab runtime; requests are counted at the endpoint's
// control API; values planted per test are canaries scanned for in every output.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import vaultSecrets from '../../src/steps/vault-secrets/index';
import { runStep } from '../../src/runtime/run';
import { readAssignments } from '../../src/runtime/gitlab';
import { describeBench, benchControl, type BenchEnv } from '../support/testbed';
import { canary, expectNoLeaks } from '../support/canary';

jest.setTimeout(30_000);

interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  status?: number;
  fault?: string;
}

const unquote = (v: string | undefined) => (v === undefined ? undefined : v.replace(/^'|'$/g, '').replace(/'\\''/g, "'"));

describeBench('vault', 'vault-secrets against the bench Vault', (tb: BenchEnv) => {
  const vault = benchControl(tb.TB_VAULT_URL);
  const id = crypto.randomBytes(4).toString('hex');
  const values = { password: canary('vaultpw'), apiKey: canary('vaultapi'), legacy: canary('vaultlegacy'), user: `user-${id}` };
  const roots: string[] = [];

  const since = async () => {
    const r = (await (await fetch(`${tb.TB_VAULT_URL}/__control/requests`)).json()) as { requests: LoggedRequest[] };
    return r.requests.reduce((m, x) => Math.max(m, x.seq), 0);
  };
  const requestsSince = async (seq: number) =>
    ((await (await fetch(`${tb.TB_VAULT_URL}/__control/requests?since=${seq}`)).json()) as { requests: LoggedRequest[] }).requests
      .map((r) => `${r.method} ${r.path}`)
      .filter((c) => c !== 'GET /v1/sys/health'); // the bench's own status probes

  beforeAll(async () => {
    await vault.post('vault/secrets', { path: `secret/fake-app/${id}/app`, data: { password: values.password, 'api-key': values.apiKey, user: values.user } });
    await vault.post('vault/secrets', { path: `kv/fake-app/${id}`, data: { token: values.legacy } });
  });
  afterAll(async () => {
    await vault.post('vault/seal', { sealed: false });
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  function job(vars: Record<string, string>) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vault-secrets-it-'));
    roots.push(root);
    const workspace = path.join(root, 'ws');
    const temp = path.join(root, 'tmp');
    fs.mkdirSync(workspace);
    fs.mkdirSync(temp);
    const env = {
      PATH: process.env.PATH ?? '',
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: workspace,
      RUNNER_TEMP: temp,
      VAULT_ADDR: tb.TB_VAULT_URL,
      VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID,
      VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID,
      ...vars,
    };
    const runIt = async (post = false) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runStep(vaultSecrets as never, { env, post, stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) });
      return { code, stdout: out.join(''), stderr: err.join('') };
    };
    return { root, workspace, temp, env, run: runIt, exported: () => readAssignments(path.join(workspace, '.shipline/env')) };
  }

  const secretsOf = () => ({ ...values, secretId: tb.TB_VAULT_SECRET_ID });

  test('V_ variables: one login, one read per path, token revoked; values only in the 0600 env file', async () => {
    const j = job({
      V_APP_PASSWORD: `secret/fake-app/${id}/app/password`,
      V_APP_API_KEY: `secret/fake-app/${id}/app/api-key`,
      V_APP_USER: `secret/fake-app/${id}/app/user`,
      V_LEGACY_TOKEN: `kv/fake-app/${id}/token`,
    });
    const tokensBefore = ((await (await fetch(`${tb.TB_VAULT_URL}/__control/vault/tokens`)).json()) as { active: number }).active;
    const seq = await since();
    const r = await j.run();
    expect(r).toMatchObject({ code: 0 });
    const calls = await requestsSince(seq);
    expect(calls.filter((c) => c.endsWith('/login'))).toEqual(['POST /v1/auth/approle/login']);
    expect(calls.filter((c) => c.startsWith('GET /v1/secret/') || c.startsWith('GET /v1/kv/')).sort()).toEqual([`GET /v1/kv/fake-app/${id}`, `GET /v1/secret/data/fake-app/${id}/app`]);
    expect(calls.filter((c) => c.includes('/sys/internal/ui/mounts/'))).toHaveLength(2); // one per mount: secret/, kv/
    expect(calls[calls.length - 1]).toBe('POST /v1/auth/token/revoke-self');
    expect(calls).toHaveLength(6);
    const tokensAfter = ((await (await fetch(`${tb.TB_VAULT_URL}/__control/vault/tokens`)).json()) as { active: number }).active;
    expect(tokensAfter).toBe(tokensBefore);

    const envFile = path.join(j.workspace, '.shipline/env');
    expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
    const exported = j.exported();
    expect(unquote(exported.get('APP_PASSWORD'))).toBe(values.password);
    expect(unquote(exported.get('APP_API_KEY'))).toBe(values.apiKey);
    expect(unquote(exported.get('APP_USER'))).toBe(values.user);
    expect(unquote(exported.get('LEGACY_TOKEN'))).toBe(values.legacy);
    // The dotenv report (an artifact) holds only the names.
    expect(fs.readFileSync(path.join(j.workspace, '.shipline/outputs.env'), 'utf8')).toBe('VAULT_SECRETS_NAMES=APP_API_KEY APP_PASSWORD APP_USER LEGACY_TOKEN\n');
    const post = await j.run(true);
    expect(post.code).toBe(0);
    expect(fs.existsSync(envFile)).toBe(false);
    expectNoLeaks({ secrets: secretsOf(), texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr }, dirs: [j.workspace, j.temp] });
  });

  test('explicit secrets lines with a fixed kv-version skip the probe', async () => {
    const j = job({ SHIPLINE_INPUT_SECRETS: `secret/fake-app/${id}/app password | DB_PASSWORD\nsecret/fake-app/${id}/app user`, SHIPLINE_INPUT_KV_VERSION: '2', V_IGNORED: 'secret/nope/x/y' });
    const seq = await since();
    const r = await j.run();
    expect(r).toMatchObject({ code: 0 });
    expect(await requestsSince(seq)).toEqual(['POST /v1/auth/approle/login', `GET /v1/secret/data/fake-app/${id}/app`, 'POST /v1/auth/token/revoke-self']);
    expect([...j.exported().keys()]).toEqual(['DB_PASSWORD', 'USER']);
  });

  test.each([
    ['a denied path', { V_X: 'secret/other-app/api/key' }, "error: V_X: permission denied reading 'secret/other-app/api'"],
    ['a missing path', { V_X: `secret/fake-app/${id}/nothing/password` }, `error: V_X: secret 'secret/fake-app/${id}/nothing' not found`],
    ['a missing key', { V_X: `secret/fake-app/${id}/app/passwd` }, `error: V_X: key 'passwd' not found in secret 'secret/fake-app/${id}/app'`],
  ])('%s fails naming the path, exports nothing and still revokes the token', async (_n, vars, message) => {
    const j = job(vars);
    const seq = await since();
    const r = await j.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(fs.existsSync(path.join(j.workspace, '.shipline/env'))).toBe(false);
    expect((await requestsSince(seq)).pop()).toBe('POST /v1/auth/token/revoke-self');
    expectNoLeaks({ secrets: secretsOf(), texts: { stdout: r.stdout, stderr: r.stderr } });
  });

  test('a wrong secret id fails at login without retrying', async () => {
    const j = job({ V_X: `secret/fake-app/${id}/app/password`, VAULT_SECRET_ID: 'not-the-secret-id' });
    const seq = await since();
    const r = await j.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AppRole login at auth/approle failed: invalid role or secret ID');
    expect(await requestsSince(seq)).toEqual(['POST /v1/auth/approle/login']);
  });

  test('transient 5xx at login is retried; a sealed Vault fails saying so', async () => {
    await vault.fault({ kind: 'error', status: 503, message: 'Vault is sealed', match: '/v1/auth/approle/login', count: 2 });
    const ok = job({ V_X: `secret/fake-app/${id}/app/password` });
    const seq = await since();
    const r = await ok.run();
    expect(r).toMatchObject({ code: 0 });
    expect((await requestsSince(seq)).filter((c) => c.endsWith('/login'))).toHaveLength(3);
    expect(r.stderr).toMatch(/warning: AppRole login at auth\/approle: HTTP 503; retrying in \d+ ms \(attempt 2 of 5\)/);

    await vault.post('vault/seal', { sealed: true });
    try {
      const sealed = job({ V_X: `secret/fake-app/${id}/app/password`, SHIPLINE_INPUT_RETRY_MAX_ATTEMPTS: '2' });
      const s = await sealed.run();
      expect(s.code).toBe(1);
      expect(s.stderr).toContain(`error: AppRole login at auth/approle failed after 2 attempts: Vault at ${tb.TB_VAULT_URL} is sealed`);
    } finally {
      await vault.post('vault/seal', { sealed: false });
    }
  });

  test('an unreachable Vault is named', async () => {
    // A loopback port nobody listens on: bound, then closed.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const j = job({ V_X: `secret/fake-app/${id}/app/password`, VAULT_ADDR: `http://127.0.0.1:${port}`, SHIPLINE_INPUT_RETRY_MAX_ATTEMPTS: '2' });
    const r = await j.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: AppRole login at auth/approle failed after 2 attempts: could not reach Vault at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  test('export: file writes 0600 files in a 0700 dir, removed by the cleanup', async () => {
    const j = job({ V_APP_PASSWORD: `secret/fake-app/${id}/app/password`, SHIPLINE_INPUT_EXPORT: 'file' });
    const r = await j.run();
    expect(r).toMatchObject({ code: 0 });
    const file = unquote(j.exported().get('APP_PASSWORD'))!;
    expect(file.startsWith(j.temp)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(values.password);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect((await j.run(true)).code).toBe(0);
    expect(fs.existsSync(path.dirname(file))).toBe(false);
    expect(fs.readdirSync(j.temp)).toEqual([]);
  });

  test('export-token keeps a working token for later commands; the cleanup revokes it', async () => {
    const j = job({ V_APP_PASSWORD: `secret/fake-app/${id}/app/password`, SHIPLINE_INPUT_EXPORT_TOKEN: 'true' });
    const r = await j.run();
    expect(r).toMatchObject({ code: 0 });
    const token = unquote(j.exported().get('VAULT_TOKEN'))!;
    const lookup = () => fetch(`${tb.TB_VAULT_URL}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': token } });
    expect((await lookup()).status).toBe(200);
    const post = await j.run(true);
    expect(post.code).toBe(0);
    expect(post.stderr).toContain('revoked the Vault token');
    expect((await lookup()).status).toBe(403);
    expectNoLeaks({ secrets: { ...secretsOf(), token }, texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr } });
  });

  test('no V_ variables is an error, not a silent success', async () => {
    const r = await job({}).run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no V_* variables reach this job');
  });
});
