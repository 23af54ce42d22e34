// vault-secrets through its clients against the bench Vault: the bundle as GitHub's runner
// runs it (a later step sees the exported variables through GITHUB_ENV, masked first), and
// the GitLab template under gitlab-ci-local (a later script line of the same job sees them;
// the dotenv artifact never does). Canary values are scanned for everywhere.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run } from '../support/exec';
import { runGithubAction } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { validateActionYml, validateGitlabTemplate } from '../support/schema';
import { benchControl, describeBench, type BenchEnv } from '../support/testbed';
import { canary, expectNoLeaks } from '../support/canary';
import { recordingProxy } from '../support/recording-proxy';

jest.setTimeout(120_000);

const BUNDLE = 'dist/vault-secrets/index.js';
const POST = 'dist/vault-secrets/post.js';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
/** The job's dotenv report (gitlab-ci-local keeps it under its path, `.shipline/outputs.env`). */
function dotenvOf(dir: string, job: string): Record<string, string> | undefined {
  const f = path.join(dir, '.gitlab-ci-local/artifacts', job, '.gitlab-ci-reports/dotenv/.shipline/outputs.env');
  if (!fs.existsSync(f)) return undefined;
  return Object.fromEntries(
    fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}
const status = (r: { exitCode: number; stdout: string; stderr: string }) =>
  `exit ${r.exitCode}\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`;

describe('vault-secrets wrappers', () => {
  test("action.yml passes GitHub's schema, with a post that always runs", () => {
    const file = path.join(repoRoot, 'components/vault-secrets/action.yml');
    expect(validateActionYml(file).errors).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toMatch(
      /post: \.\.\/\.\.\/dist\/vault-secrets\/post\.js\n\s+post-if: always\(\)/,
    );
  });
  test("GitLab template passes GitLab's CI schema; inputs reach the job as variables only; the env file is sourced on its own line", () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates/vault-secrets.yml'), 'utf8');
    const r = validateGitlabTemplate(text, {
      url: 'https://vault.example.com:8200',
      'role-id': '$VAULT_ROLE_ID',
      'secret-id': '$VAULT_SECRET_ID',
      namespace: 'team-a',
      secrets: 'secret/app/db password | DB_PASSWORD',
      script: ['./deploy.sh'],
    });
    // gitlab-ci-local 4.73's copy of the schema predates `spec:component` (GitLab 16.11+).
    expect(
      r.errors.filter(
        (e) => !/^header: \/spec must NOT have additional properties \{"additionalProperty":"component"\}/.test(e),
      ),
    ).toEqual([]);
    const script = text.slice(text.indexOf('\n  script:\n'), text.indexOf('\n  after_script:'));
    expect(script.replace('$[[ inputs.script ]]', '')).not.toMatch(/\$\[\[\s*inputs\./);
    expect(script).toContain(
      '    - node "$SHIPLINE_HOME/dist/vault-secrets/index.js"\n' +
        '    - "[ ! -f \\"${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}\\" ] || . \\"${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}\\""\n' +
        '    - $[[ inputs.script ]]',
    );
  });
});

describeBench('vault', 'vault-secrets clients', (tb: BenchEnv) => {
  const vault = benchControl(tb.TB_VAULT_URL);
  const id = crypto.randomBytes(4).toString('hex');
  const values = { password: canary('vaultpw'), apiKey: canary('vaultapi') };
  const V = {
    V_APP_PASSWORD: `secret/fake-app/${id}/app/password`,
    V_APP_API_KEY: `secret/fake-app/${id}/app/api-key`,
  };
  const secrets = () => ({ ...values, secretId: tb.TB_VAULT_SECRET_ID });

  beforeAll(async () => {
    expect(fs.existsSync(path.join(repoRoot, BUNDLE))).toBe(true);
    await vault.post('vault/secrets', {
      path: `secret/fake-app/${id}/app`,
      data: { password: values.password, 'api-key': values.apiKey },
    });
  });

  describe('GitHub runtime', () => {
    const node24 = requireNode24();
    const nodes: [string, string | undefined][] = [
      ['node 20', undefined],
      ...(node24 ? [['node 24', node24] as [string, string]] : []),
    ];
    test.each(nodes)(
      '%s: masked, then exported to GITHUB_ENV for a later step; token revoked',
      async (_label, node) => {
        const r = await runGithubAction({
          entry: BUNDLE,
          post: POST,
          action: 'components/vault-secrets/action.yml',
          inputs: { url: tb.TB_VAULT_URL, 'role-id': tb.TB_VAULT_ROLE_ID, 'secret-id': tb.TB_VAULT_SECRET_ID },
          env: V,
          ...(node ? { node } : {}),
        });
        try {
          expect(status({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })).toMatch(/^exit 0/);
          expect(r.postExitCode).toBe(0);
          expect(r.env).toEqual({ APP_PASSWORD: values.password, APP_API_KEY: values.apiKey });
          expect(r.masks).toEqual(expect.arrayContaining([values.password, values.apiKey, tb.TB_VAULT_SECRET_ID]));
          expect(r.outputs.names).toBe('APP_API_KEY\nAPP_PASSWORD');
          // A later step: the runner starts it with GITHUB_ENV's variables in its environment.
          const later = await run(
            node ?? process.execPath,
            [
              '-e',
              'const c=require("crypto");for(const n of ["APP_PASSWORD","APP_API_KEY"])console.log(n, c.createHash("sha256").update(process.env[n]||"").digest("hex"))',
            ],
            {
              env: { PATH: process.env.PATH ?? '', ...r.env },
            },
          );
          expect(later.stdout).toBe(`APP_PASSWORD ${sha256(values.password)}\nAPP_API_KEY ${sha256(values.apiKey)}\n`);
          expect(r.stdout).toContain('revoked the Vault token');
          expectNoLeaks({
            secrets: secrets(),
            texts: {
              stdout: r.stdout,
              stderr: r.stderr,
              postStdout: r.postStdout,
              postStderr: r.postStderr,
              summary: r.summary,
            },
            files: [r.files.output, r.files.state],
            dirs: [r.workspace, path.join(r.tempDir, 'runner-temp')],
          });
        } finally {
          r.cleanup();
        }
      },
    );

    test('a denied path fails the step with an error annotation naming it', async () => {
      const r = await runGithubAction({
        entry: BUNDLE,
        post: POST,
        inputs: {
          url: tb.TB_VAULT_URL,
          'role-id': tb.TB_VAULT_ROLE_ID,
          'secret-id': tb.TB_VAULT_SECRET_ID,
          'retry-max-attempts': '5',
          prefix: 'V_',
          'kv-version': 'auto',
          export: 'env',
          'auth-path': 'approle',
        },
        env: { V_OTHER: 'secret/other-app/api/key' },
      });
      try {
        expect(r.exitCode).toBe(1);
        expect(r.commands).toContainEqual(
          expect.objectContaining({
            command: 'error',
            value: "V_OTHER: permission denied reading 'secret/other-app/api'",
          }),
        );
        expect(r.env).toEqual({});
        expectNoLeaks({ secrets: secrets(), texts: { stdout: r.stdout, stderr: r.stderr } });
      } finally {
        r.cleanup();
      }
    });
  });

  describe('CLI (npx shipline)', () => {
    test('--help lists the inputs; a run writes the 0600 env file and --post removes it', async () => {
      const cli = path.join(repoRoot, 'dist/cli.js');
      const help = await run(process.execPath, [cli, 'vault-secrets', '--help']);
      for (const input of [
        '--url',
        '--role-id',
        '--secret-id',
        '--auth-path',
        '--namespace',
        '--prefix',
        '--kv-version',
        '--export',
        '--secrets',
        '--retry-max-attempts',
      ])
        expect(help.stdout).toContain(input);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vault-secrets-cli-'));
      // The CLI's private directory: <tmpdir>/shipline-<uid>/<12 hex of the workspace's real
      // path>, outside the checkout (the child has no TMPDIR: its tmpdir is /tmp).
      const runDir = path.join(
        '/tmp',
        `shipline-${process.getuid!()}`,
        crypto.createHash('sha256').update(fs.realpathSync(dir)).digest('hex').slice(0, 12),
      );
      try {
        const env = {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID,
          VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID,
        };
        const r = await run(
          process.execPath,
          [
            cli,
            'vault-secrets',
            '--url',
            tb.TB_VAULT_URL,
            '--secrets',
            `secret/fake-app/${id}/app password | APP_PASSWORD`,
          ],
          { cwd: dir, env },
        );
        expect(status({ exitCode: r.code, stdout: r.stdout, stderr: r.stderr })).toMatch(/^exit 0/);
        const envFile = path.join(runDir, 'env');
        expect(r.stderr).toContain(`exported APP_PASSWORD to ${envFile} (source it: . ${envFile})`);
        expect(fs.statSync(runDir).mode & 0o777).toBe(0o700);
        expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
        expect(fs.existsSync(path.join(dir, '.shipline/env'))).toBe(false);
        const shown = await run(
          'sh',
          ['-c', '. "$SHIPLINE_ENV_FILE" && printf %s "$APP_PASSWORD" | sha256sum | cut -d" " -f1'],
          { cwd: dir, env: { PATH: process.env.PATH ?? '', SHIPLINE_ENV_FILE: envFile } },
        );
        expect(shown.stdout.trim()).toBe(sha256(values.password));
        expect((await run(process.execPath, [cli, 'vault-secrets', '--post'], { cwd: dir, env })).code).toBe(0);
        expect(fs.existsSync(envFile)).toBe(false);
        expectNoLeaks({
          secrets: secrets(),
          texts: { stdout: r.stdout + shown.stdout, stderr: r.stderr },
          dirs: [dir, runDir],
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(runDir, { recursive: true, force: true });
      }
    });
  });

  describe('GitLab template under gitlab-ci-local', () => {
    test('V_ variables become plain variables for a later script line; never in dotenv; env file removed', async () => {
      // Counted through a proxy of this test's own: others may use the bench Vault meanwhile.
      const own = await recordingProxy(tb.TB_VAULT_URL);
      const r = await runGitlabCiLocal({
        ciYml: {
          stages: ['deploy'],
          include: [
            componentInclude('vault-secrets', {
              script: [
                'printf "password-sha=%s\\n" "$(printf %s "$APP_PASSWORD" | sha256sum | cut -d" " -f1)"',
                'printf "api-sha=%s\\n" "$(printf %s "$APP_API_KEY" | sha256sum | cut -d" " -f1)"',
              ],
            }),
          ],
        },
        pipeline: 'default-branch',
        variables: { VAULT_ADDR: own.url, ...V },
        fileVariables: { VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID, VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID },
      });
      try {
        await own.close();
        expect(status(r)).toMatch(/^exit 0/);
        expect(r.stdout).toContain(`password-sha=${sha256(values.password)}`);
        // Counted at the endpoint: one login, one read for the one path, the token revoked.
        const calls = own.calls().filter((c) => !c.includes('/sys/internal/ui/mounts/'));
        expect(calls).toEqual([
          'POST /v1/auth/approle/login',
          `GET /v1/secret/data/fake-app/${id}/app`,
          'POST /v1/auth/token/revoke-self',
        ]);
        expect(r.stdout).toContain(`api-sha=${sha256(values.apiKey)}`);
        expect(dotenvOf(r.dir, 'vault-secrets')).toEqual({ VAULT_SECRETS_NAMES: 'APP_API_KEY APP_PASSWORD' });
        expect(fs.existsSync(path.join(r.dir, '.shipline/env'))).toBe(false);
        expectNoLeaks({ secrets: secrets(), texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [r.dir] });
      } finally {
        r.cleanup();
      }
    });

    test('a denied path fails the job naming the path', async () => {
      const r = await runGitlabCiLocal({
        ciYml: {
          stages: ['deploy'],
          include: [componentInclude('vault-secrets', { script: ['echo should-not-run'] })],
        },
        pipeline: 'default-branch',
        variables: {
          VAULT_ADDR: tb.TB_VAULT_URL,
          V_APP_PASSWORD: V.V_APP_PASSWORD,
          V_OTHER: 'secret/other-app/api/key',
        },
        fileVariables: { VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID, VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID },
      });
      try {
        expect(r.exitCode).not.toBe(0);
        expect(r.stdout + r.stderr).toContain("V_OTHER: permission denied reading 'secret/other-app/api'");
        expect(r.stdout).not.toMatch(/^[^\n]*> should-not-run/m);
        expect(r.stdout).toMatch(/\$ node "\$SHIPLINE_HOME\/dist\/vault-secrets\/index.js"/);
        expectNoLeaks({ secrets: secrets(), texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [r.dir] });
      } finally {
        r.cleanup();
      }
    });
  });
});
