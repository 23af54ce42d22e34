// vault-secrets against the bench's loopback Vault (real HTTP, AppRole, KV v1/v2, policies):
// the step runs in-process on the GitLab runtime; requests are counted through a recording
// proxy of the test's own (others may use the bench meanwhile); values planted per test are
// canaries scanned for in every output. Each job has its own private directory
// (SHIPLINE_RUN_DIR, as the GitLab template sets it): the env file is <run>/env, state
// <run>/state/vault-secrets.json, export: file writes under <run>/tmp (ctx.tempDir).
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
import { recordingProxy, type RecordingProxy } from '../support/recording-proxy';

jest.setTimeout(30_000);

const unquote = (v: string | undefined) =>
  v === undefined ? undefined : v.replace(/^'|'$/g, '').replace(/'\\''/g, "'");

describeBench('vault', 'vault-secrets against the bench Vault', (tb: BenchEnv) => {
  const vault = benchControl(tb.TB_VAULT_URL);
  const id = crypto.randomBytes(4).toString('hex');
  const values = {
    password: canary('vaultpw'),
    apiKey: canary('vaultapi'),
    legacy: canary('vaultlegacy'),
    user: `user-${id}`,
  };
  const roots: string[] = [];
  const proxies: RecordingProxy[] = [];
  /** A proxy of this test's own in front of the bench Vault: its calls are this test's requests. */
  const own = async () => {
    const p = await recordingProxy(tb.TB_VAULT_URL);
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    await vault.post('vault/secrets', {
      path: `secret/fake-app/${id}/app`,
      data: { password: values.password, 'api-key': values.apiKey, user: values.user },
    });
    await vault.post('vault/secrets', { path: `kv/fake-app/${id}`, data: { token: values.legacy } });
  });
  afterAll(async () => {
    await vault.post('vault/seal', { sealed: false });
    for (const p of proxies) await p.close();
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  function job(vars: Record<string, string>) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vault-secrets-it-'));
    roots.push(root);
    const workspace = path.join(root, 'ws');
    const runDir = path.join(root, 'run');
    const temp = path.join(runDir, 'tmp');
    const envFile = path.join(runDir, 'env');
    fs.mkdirSync(workspace);
    const env = {
      PATH: process.env.PATH ?? '',
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: workspace,
      SHIPLINE_RUN_DIR: runDir,
      VAULT_ADDR: tb.TB_VAULT_URL,
      VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID,
      VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID,
      ...vars,
    };
    const runIt = async (post = false) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runStep(vaultSecrets as never, {
        env,
        post,
        stdout: (s) => void out.push(s),
        stderr: (s) => void err.push(s),
      });
      return { code, stdout: out.join(''), stderr: err.join('') };
    };
    return {
      root,
      workspace,
      runDir,
      temp,
      envFile,
      env,
      run: runIt,
      exported: () => readAssignments(envFile),
    };
  }

  const secretsOf = () => ({ ...values, secretId: tb.TB_VAULT_SECRET_ID });

  test('V_ variables: one login, one read per path, token revoked; values only in the 0600 env file', async () => {
    const p = await own();
    const j = job({
      VAULT_ADDR: p.url,
      V_APP_PASSWORD: `secret/fake-app/${id}/app/password`,
      V_APP_API_KEY: `secret/fake-app/${id}/app/api-key`,
      V_APP_USER: `secret/fake-app/${id}/app/user`,
      V_LEGACY_TOKEN: `kv/fake-app/${id}/token`,
    });
    const r = await j.run();
    expect(r).toMatchObject({ code: 0 });
    const calls = p.calls();
    expect(calls.filter((c) => c.endsWith('/login'))).toEqual(['POST /v1/auth/approle/login']);
    expect(calls.filter((c) => c.startsWith('GET /v1/secret/') || c.startsWith('GET /v1/kv/')).sort()).toEqual([
      `GET /v1/kv/fake-app/${id}`,
      `GET /v1/secret/data/fake-app/${id}/app`,
    ]);
    expect(calls.filter((c) => c.includes('/sys/internal/ui/mounts/'))).toHaveLength(2); // one per mount: secret/, kv/
    expect(calls[calls.length - 1]).toBe('POST /v1/auth/token/revoke-self');
    expect(calls).toHaveLength(6);
    // The token this run logged in with no longer works.
    const login = p.recorded().find((q) => q.path.endsWith('/login'))!;
    const token = (JSON.parse(login.body) as { auth: { client_token: string } }).auth.client_token;
    expect(
      (await fetch(`${tb.TB_VAULT_URL}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': token } })).status,
    ).toBe(403);

    const envFile = j.envFile;
    expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(j.workspace, '.shipline/env'))).toBe(false);
    // Revoked in main: the token is no longer in state.
    expect(fs.readFileSync(path.join(j.runDir, 'state/vault-secrets.json'), 'utf8')).not.toContain(token);
    const exported = j.exported();
    expect(unquote(exported.get('APP_PASSWORD'))).toBe(values.password);
    expect(unquote(exported.get('APP_API_KEY'))).toBe(values.apiKey);
    expect(unquote(exported.get('APP_USER'))).toBe(values.user);
    expect(unquote(exported.get('LEGACY_TOKEN'))).toBe(values.legacy);
    // The dotenv report (an artifact) holds only the names.
    expect(fs.readFileSync(path.join(j.workspace, '.shipline/outputs.env'), 'utf8')).toBe(
      'VAULT_SECRETS_NAMES=APP_API_KEY APP_PASSWORD APP_USER LEGACY_TOKEN\n',
    );
    const post = await j.run(true);
    expect(post.code).toBe(0);
    expect(fs.existsSync(envFile)).toBe(false);
    expectNoLeaks({
      secrets: { ...secretsOf(), token },
      texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr },
      dirs: [j.workspace, j.runDir],
    });
  });

  test('explicit secrets lines with a fixed kv-version skip the probe', async () => {
    const p = await own();
    const j = job({
      VAULT_ADDR: p.url,
      SHIPLINE_INPUT_SECRETS: `secret/fake-app/${id}/app password | DB_PASSWORD\nsecret/fake-app/${id}/app user`,
      SHIPLINE_INPUT_KV_VERSION: '2',
      V_IGNORED: 'secret/nope/x/y',
    });
    const r = await j.run();
    expect(r).toMatchObject({ code: 0 });
    expect(p.calls()).toEqual([
      'POST /v1/auth/approle/login',
      `GET /v1/secret/data/fake-app/${id}/app`,
      'POST /v1/auth/token/revoke-self',
    ]);
    expect([...j.exported().keys()]).toEqual(['DB_PASSWORD', 'USER']);
  });

  test.each([
    [
      'a denied path',
      { V_X: 'secret/other-app/api/key' },
      "error: V_X: permission denied reading 'secret/other-app/api'",
    ],
    [
      'a missing path',
      { V_X: `secret/fake-app/${id}/nothing/password` },
      `error: V_X: secret 'secret/fake-app/${id}/nothing' not found`,
    ],
    [
      'a missing key',
      { V_X: `secret/fake-app/${id}/app/passwd` },
      `error: V_X: key 'passwd' not found in secret 'secret/fake-app/${id}/app'`,
    ],
  ])('%s fails naming the path, exports nothing and still revokes the token', async (_n, vars, message) => {
    const p = await own();
    const j = job({ VAULT_ADDR: p.url, ...vars });
    const r = await j.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(fs.existsSync(j.envFile)).toBe(false);
    expect(fs.existsSync(path.join(j.workspace, '.shipline/env'))).toBe(false);
    expect(p.calls().pop()).toBe('POST /v1/auth/token/revoke-self');
    expectNoLeaks({ secrets: secretsOf(), texts: { stdout: r.stdout, stderr: r.stderr } });
  });

  test('a wrong secret id fails at login without retrying', async () => {
    const p = await own();
    const j = job({
      VAULT_ADDR: p.url,
      V_X: `secret/fake-app/${id}/app/password`,
      VAULT_SECRET_ID: 'not-the-secret-id',
    });
    const r = await j.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AppRole login at auth/approle failed: invalid role or secret ID');
    expect(p.calls()).toEqual(['POST /v1/auth/approle/login']);
  });

  test('transient 5xx at login is retried; a sealed Vault fails saying so', async () => {
    await vault.fault({
      kind: 'error',
      status: 503,
      message: 'Vault is sealed',
      match: '/v1/auth/approle/login',
      count: 2,
    });
    const p = await own();
    const ok = job({ VAULT_ADDR: p.url, V_X: `secret/fake-app/${id}/app/password` });
    const r = await ok.run();
    expect(r).toMatchObject({ code: 0 });
    // Our logins: the faulted ones (two, unless another client's login took one), then success.
    const logins = p
      .recorded()
      .filter((q) => q.path.endsWith('/login'))
      .map((q) => q.status);
    expect(logins.length).toBeGreaterThanOrEqual(2);
    expect(logins).toEqual([...logins.slice(0, -1).map(() => 503), 200]);
    expect(r.stderr).toMatch(
      /warning: AppRole login at auth\/approle: HTTP 503; retrying in \d+ ms \(attempt 2 of 5\)/,
    );

    await vault.post('vault/seal', { sealed: true });
    try {
      const sealed = job({ V_X: `secret/fake-app/${id}/app/password`, SHIPLINE_INPUT_RETRY_MAX_ATTEMPTS: '2' });
      const s = await sealed.run();
      expect(s.code).toBe(1);
      expect(s.stderr).toContain(
        `error: AppRole login at auth/approle failed: Vault at ${tb.TB_VAULT_URL} is sealed (gave up after 2 attempts: HTTP 503)`,
      );
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
    const j = job({
      V_X: `secret/fake-app/${id}/app/password`,
      VAULT_ADDR: `http://127.0.0.1:${port}`,
      SHIPLINE_INPUT_RETRY_MAX_ATTEMPTS: '2',
    });
    const r = await j.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: AppRole login at auth/approle failed: could not reach Vault at http://127.0.0.1:${port} (gave up after 2 attempts: ECONNREFUSED)`,
    );
    expect(r.stderr).toContain('hint: check the url input / VAULT_ADDR and that the runner can reach Vault');
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
    expect(path.dirname(path.dirname(file))).toBe(j.temp);
    expect(fs.existsSync(path.dirname(file))).toBe(false);
    expect(fs.readdirSync(j.temp)).toEqual([]);
    expect(fs.existsSync(j.envFile)).toBe(false);
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
    expect(fs.existsSync(j.envFile)).toBe(false);
    // Neither the values nor the token are left in the private directory (state cleared).
    expectNoLeaks({
      secrets: { ...secretsOf(), token },
      texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr },
      dirs: [j.workspace, j.runDir],
    });
  });

  test('no V_ variables is an error, not a silent success', async () => {
    const r = await job({}).run();
    expect(r.code).toBe(2); // the job's configuration, named as input prefix (issue 15)
    expect(r.stderr).toContain("input 'prefix': no V_* variables reach this job");
  });
});
