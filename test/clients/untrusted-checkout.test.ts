// Nothing under the checkout is trusted (issue #13): a checkout that plants shipline's old
// paths — code under .shipline/code, state under .shipline/state, an env file, links —
// and the templates' own script lines under gitlab-ci-local. Nothing planted runs, is
// deleted, signalled or written to; the job's own files live in its private directory.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runOk } from '../support/exec';
import { componentInclude, runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';
import { benchControl, describeBench, type BenchEnv } from '../support/testbed';
import { canary, expectNoLeaks } from '../support/canary';

jest.setTimeout(180_000);

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const status = (r: GitlabRunResult) => `exit ${r.exitCode}\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let work: string;
let markers: string;
let sleeper: ChildProcess;
let keyLines: Record<string, string>;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-untrusted-'));
  markers = path.join(work, 'markers');
  fs.mkdirSync(markers);
  sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  const file = path.join(work, 'id_ed25519');
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'untrusted', '-f', file]);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  keyLines = Object.fromEntries(lines.map((l, i) => [`SSH_KEY_LINE_${i + 1}`, l]));
});
afterAll(() => {
  sleeper.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

/** What a hostile checkout commits: each file would act if shipline trusted it. */
function hostileCheckout(steps: string[], survivor: string, env: 'line' | 'link', outside: string) {
  const marker = (what: string) => path.join(markers, what);
  const files: Record<string, string> = {};
  for (const s of steps) {
    files[`.shipline/code/dist/${s}/index.js`] =
      `require('fs').writeFileSync(${JSON.stringify(marker(`code-${s}`))}, 'ran');\n`;
    // Both spellings: the raw value and the JSON text the runtime keeps per slot.
    files[`.shipline/state/${s}.json`] = JSON.stringify({
      dir: JSON.stringify(survivor),
      workdir: JSON.stringify(survivor),
      'agent-pid': String(sleeper.pid),
      agent: JSON.stringify({ pid: sleeper.pid, cmdline: 'sleep 300', start: '0' }),
    });
  }
  if (env === 'line') files['.shipline/env'] = `touch ${JSON.stringify(marker('env-line'))}\n`;
  const links: [string, string][] =
    env === 'link'
      ? [
          ['.shipline/env', path.join(outside, 'env-target')],
          ['.shipline/outputs.env', path.join(outside, 'dotenv-target')],
        ]
      : [];
  return { files, links };
}

/** A component project served over file:// whose commit holds this tree's dist/ of `steps`. */
async function componentServer(steps: string[]): Promise<{ url: string; sha: string }> {
  const src = path.join(work, `src-${crypto.randomBytes(3).toString('hex')}`);
  fs.mkdirSync(src);
  for (const s of steps) fs.cpSync(path.join(repoRoot, 'dist', s), path.join(src, 'dist', s), { recursive: true });
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@e',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@e',
  };
  await runOk('git', ['init', '-q', '-b', 'main'], { cwd: src, env });
  await runOk('git', ['add', '-A'], { cwd: src, env });
  await runOk('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'dist'], { cwd: src, env });
  const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: src })).stdout.trim();
  const server = path.join(work, `server-${crypto.randomBytes(3).toString('hex')}`);
  await runOk('git', ['clone', '-q', '--bare', src, path.join(server, 'platform/shipline.git')]);
  return { url: `file://${server}`, sha };
}

async function runHostile(
  ciYml: Record<string, unknown>,
  plant: ReturnType<typeof hostileCheckout>,
  extra: Partial<Parameters<typeof runGitlabCiLocal>[0]>,
) {
  const dir = path.join(work, `project-${crypto.randomBytes(3).toString('hex')}`);
  fs.mkdirSync(dir);
  for (const [rel, target] of plant.links) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.symlinkSync(target, path.join(dir, rel));
  }
  return runGitlabCiLocal({ ciYml, files: plant.files, cwd: dir, pipeline: 'default-branch', ...extra });
}

describe('ssh-key template (code, state, agent pid, env line, links)', () => {
  test('the pinned code is fetched into the private directory; nothing planted runs or is touched', async () => {
    const survivor = fs.mkdtempSync(path.join(work, 'survivor-'));
    fs.writeFileSync(path.join(survivor, 'keep'), 'kept');
    const outside = fs.mkdtempSync(path.join(work, 'outside-'));
    const server = await componentServer(['ssh-key']);
    const plant = hostileCheckout(['ssh-key'], survivor, 'line', outside);
    const r = await runHostile(
      {
        stages: ['build'],
        include: [
          componentInclude('ssh-key', {
            'key-variables': 'SSH_KEY_LINE_',
            'known-hosts': HOST_KEY,
            host: 'git.example.com',
            'shipline-project': 'platform/shipline',
            script: ['echo "home=$SHIPLINE_HOME run=$SHIPLINE_RUN_DIR"', 'test -n "$GIT_SSH_COMMAND"'],
          }),
        ],
      },
      plant,
      {
        shiplineHome: null,
        variables: { SHIPLINE_REF: server.sha, CI_SERVER_URL: server.url },
        fileVariables: keyLines,
        copy: ['templates'],
      },
    );
    try {
      expect(status(r)).toMatch(/^exit 0/);
      const log = r.jobLog('ssh-key');
      // The job ran the fetched code from its private directory, outside the checkout.
      const m = /home=(\/\S+) run=(\/\S+)/.exec(log);
      expect(m?.[1]).toBe(`${m?.[2]}/code`);
      expect(m?.[2]).toMatch(/^\/tmp\/shipline-\d+$/);
      expect(fs.existsSync(m![2]!)).toBe(false); // removed by after_script
      expect(fs.readdirSync(markers)).toEqual([]); // no planted code, no env line ran
      expect(fs.readFileSync(path.join(survivor, 'keep'), 'utf8')).toBe('kept');
      expect(alive(sleeper.pid!)).toBe(true);
      expect(log.match(/warning: ignoring .*\.shipline in the checkout/g)).toHaveLength(1);
      // The planted files are still as committed: nothing read, nothing rewritten.
      for (const [rel, text] of Object.entries(plant.files)) expect(r.readFile(rel)).toBe(text);
      expect(r.dotenv('ssh-key')?.SSH_KEY_FINGERPRINT).toMatch(/^SHA256:/);
      expectNoLeaks({ secrets: keyLines, texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [r.dir] });
    } finally {
      r.cleanup();
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  });

  test('links in the checkout: the env file and the dotenv report never write through them', async () => {
    const outside = fs.mkdtempSync(path.join(work, 'outside-'));
    fs.writeFileSync(path.join(outside, 'env-target'), 'original env target\n');
    fs.writeFileSync(path.join(outside, 'dotenv-target'), 'PLANTED=1\n');
    const plant = hostileCheckout(['ssh-key'], outside, 'link', outside);
    const r = await runHostile(
      {
        stages: ['build'],
        include: [
          componentInclude('ssh-key', {
            'key-variables': 'SSH_KEY_LINE_',
            'known-hosts': HOST_KEY,
            host: 'git.example.com',
            script: ['test -n "$GIT_SSH_COMMAND"'],
          }),
        ],
      },
      plant,
      { fileVariables: keyLines },
    );
    try {
      expect(status(r)).toMatch(/^exit 0/);
      expect(fs.readFileSync(path.join(outside, 'env-target'), 'utf8')).toBe('original env target\n');
      expect(fs.readFileSync(path.join(outside, 'dotenv-target'), 'utf8')).toBe('PLANTED=1\n');
      const report = r.dotenv('ssh-key') ?? {};
      expect(report.PLANTED).toBeUndefined();
      expect(report.SSH_KEY_FINGERPRINT).toMatch(/^SHA256:/);
      expect(fs.readdirSync(markers)).toEqual([]);
      expect(alive(sleeper.pid!)).toBe(true);
    } finally {
      r.cleanup();
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  });
});

describeBench('vault', 'vault-secrets template in a hostile checkout', (tb: BenchEnv) => {
  const vault = benchControl(tb.TB_VAULT_URL);
  const id = crypto.randomBytes(4).toString('hex');
  const password = canary('untrustedpw');
  beforeAll(async () => {
    await vault.post('vault/secrets', { path: `secret/fake-app/${id}/app`, data: { password } });
  });

  test.each(['file', 'env'] as const)(
    'export=%s: planted state dir survives, the env link target is never written',
    async (exportMode) => {
      const survivor = fs.mkdtempSync(path.join(work, 'survivor-'));
      fs.writeFileSync(path.join(survivor, 'keep'), 'kept');
      const outside = fs.mkdtempSync(path.join(work, 'outside-'));
      fs.writeFileSync(path.join(outside, 'env-target'), 'original env target\n');
      fs.writeFileSync(path.join(outside, 'dotenv-target'), 'PLANTED=1\n');
      const plant = hostileCheckout(['vault-secrets'], survivor, 'link', outside);
      const r = await runHostile(
        {
          stages: ['deploy'],
          include: [
            componentInclude('vault-secrets', {
              export: exportMode,
              secrets: `secret/fake-app/${id}/app password | APP_PASSWORD`,
              script: ['test -n "$APP_PASSWORD" && echo "got the secret"'],
            }),
          ],
        },
        plant,
        {
          variables: { VAULT_ADDR: tb.TB_VAULT_URL },
          fileVariables: { VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID, VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID },
        },
      );
      try {
        expect(status(r)).toMatch(/^exit 0/);
        expect(r.jobLog('vault-secrets')).toContain('got the secret');
        expect(fs.readFileSync(path.join(survivor, 'keep'), 'utf8')).toBe('kept');
        expect(fs.readFileSync(path.join(outside, 'env-target'), 'utf8')).toBe('original env target\n');
        expect(fs.readFileSync(path.join(outside, 'dotenv-target'), 'utf8')).toBe('PLANTED=1\n');
        expect(fs.readdirSync(markers)).toEqual([]);
        expectNoLeaks({
          secrets: { password, secretId: tb.TB_VAULT_SECRET_ID },
          texts: { stdout: r.stdout, stderr: r.stderr },
          dirs: [r.dir, outside],
        });
      } finally {
        r.cleanup();
        fs.rmSync(r.dir, { recursive: true, force: true });
      }
    },
  );
});
