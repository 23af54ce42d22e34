// ssh-key through its clients: a key made by ssh-keygen, one masked variable per line,
// reassembled by the GitLab template under gitlab-ci-local (a later script line uses
// GIT_SSH_COMMAND's key with ssh-keygen -y) and by the bundle as GitHub's runner runs it;
// the key directory is gone after the job; key lines never appear in any output.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, runOk } from '../support/exec';
import { runGithubAction } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { validateActionYml, validateGitlabTemplate } from '../support/schema';
import { expectNoLeaks } from '../support/canary';

jest.setTimeout(120_000);

const BUNDLE = 'dist/ssh-key/index.js';
const POST = 'dist/ssh-key/post.js';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
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
// What a later script line / step does with the exported command: the key path is its 3rd word.
const LATER =
  'eval "set -- $GIT_SSH_COMMAND"; printf "key-sha=%s\\n" "$(sha256sum < "$3" | cut -d" " -f1)"; printf "derived=%s\\n" "$(ssh-keygen -y -f "$3" | cut -d" " -f1,2)"';

let keyDir: string;
let key: { text: string; pub: string; sha: string; lines: Record<string, string>; body: Record<string, string> };

beforeAll(async () => {
  expect(fs.existsSync(path.join(repoRoot, BUNDLE))).toBe(true);
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-key-clients-'));
  const file = path.join(keyDir, 'id_ed25519');
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'shipline-clients', '-f', file]);
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.trimEnd().split('\n');
  key = {
    text,
    pub: fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' '),
    sha: crypto.createHash('sha256').update(text).digest('hex'),
    lines: Object.fromEntries(lines.map((l, i) => [`SSH_KEY_LINE_${i + 1}`, l])),
    body: Object.fromEntries(lines.filter((l) => !l.startsWith('-----')).map((l, i) => [`body${i + 1}`, l])),
  };
});
afterAll(() => fs.rmSync(keyDir, { recursive: true, force: true }));

describe('ssh-key wrappers', () => {
  test("action.yml passes GitHub's schema, with a post that always runs", () => {
    const file = path.join(repoRoot, 'components/ssh-key/action.yml');
    expect(validateActionYml(file).errors).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/post: \.\.\/\.\.\/dist\/ssh-key\/post\.js\n\s+post-if: always\(\)/);
  });
  test("GitLab template passes GitLab's CI schema; inputs reach the job as variables only; the env file is sourced on its own line", () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates/ssh-key.yml'), 'utf8');
    const r = validateGitlabTemplate(text, {
      'key-variables': 'SSH_KEY_LINE_',
      'key-base64': '$SSH_KEY_B64',
      'known-hosts': 'git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
      host: 'git.example.com',
      script: ['git clone ssh://git@git.example.com/team/x.git'],
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
      '    - node "$SHIPLINE_HOME/dist/ssh-key/index.js"\n' +
        '    - "[ ! -f \\"${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}\\" ] || . \\"${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}\\""\n' +
        '    - $[[ inputs.script ]]',
    );
  });
});

describe('GitLab template under gitlab-ci-local', () => {
  test('per-line variables: a later script line gets the byte-exact key; the dir is removed after the job', async () => {
    const r = await runGitlabCiLocal({
      ciYml: {
        stages: ['build'],
        include: [
          componentInclude('ssh-key', {
            'key-variables': 'SSH_KEY_LINE_',
            'known-hosts': HOST_KEY,
            host: 'git.example.com',
            script: [LATER],
          }),
        ],
      },
      pipeline: 'default-branch',
      fileVariables: key.lines,
    });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      expect(r.stdout).toContain(`key-sha=${key.sha}`);
      expect(r.stdout).toContain(`derived=${key.pub}`);
      // The key file's path is this job's only: printed, never in the dotenv report.
      expect(dotenvOf(r.dir, 'ssh-key')).not.toHaveProperty('SSH_KEY_KEY_FILE');
      const keyFile = /^(?:.*> )?key-file=(.*)$/m.exec(r.stdout)?.[1];
      expect(keyFile).toMatch(/shipline-ssh-[^/]+\/id_key$/);
      expect(fs.existsSync(path.dirname(keyFile!))).toBe(false);
      expect(fs.existsSync(path.join(r.dir, '.shipline/env'))).toBe(false);
      expectNoLeaks({ secrets: key.body, texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [r.dir] });
    } finally {
      r.cleanup();
    }
  });

  test('a broken line fails the job with its number, not its content', async () => {
    const broken = { ...key.lines, SSH_KEY_LINE_4: key.lines.SSH_KEY_LINE_4!.slice(0, 30) };
    const r = await runGitlabCiLocal({
      ciYml: {
        stages: ['build'],
        include: [
          componentInclude('ssh-key', {
            'key-variables': 'SSH_KEY_LINE_',
            'known-hosts': `git.example.com ${HOST_KEY}`,
            script: ['echo should-not-run'],
          }),
        ],
      },
      pipeline: 'default-branch',
      fileVariables: broken,
    });
    try {
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout + r.stderr).toContain(
        'line 4 (from SSH_KEY_LINE_4): 30 characters where the lines before have 70',
      );
      expectNoLeaks({
        secrets: { ...key.body, broken: broken.SSH_KEY_LINE_4 },
        texts: { stdout: r.stdout, stderr: r.stderr },
        dirs: [r.dir],
      });
    } finally {
      r.cleanup();
    }
  });
});

describe('GitHub runtime', () => {
  const node24 = requireNode24();
  const nodes: [string, string | undefined][] = [
    ['node 20', undefined],
    ...(node24 ? [['node 24', node24] as [string, string]] : []),
  ];
  test.each(nodes)('%s: GIT_SSH_COMMAND for a later step; post removes the key', async (_label, node) => {
    const b64 = Buffer.from(key.text).toString('base64');
    for (const [label, inputs, env] of [
      ['per-line', { 'key-variables': 'SSH_KEY_LINE_' }, key.lines],
      ['base64', { 'key-base64': b64 }, {}],
    ] as const) {
      const r = await runGithubAction({
        entry: BUNDLE,
        action: 'components/ssh-key/action.yml',
        inputs: { ...inputs, 'known-hosts': HOST_KEY, host: 'git.example.com' },
        env,
        runPost: false,
        ...(node ? { node } : {}),
      });
      try {
        expect(`${label} ${status({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })}`).toMatch(
          new RegExp(`^${label} exit 0`),
        );
        expect(Object.keys(r.env)).toEqual(['GIT_SSH_COMMAND']);
        const later = await runOk('sh', ['-c', LATER], { env: { PATH: process.env.PATH ?? '', ...r.env } });
        expect(later.stdout).toBe(`key-sha=${key.sha}\nderived=${key.pub}\n`);
        expect(r.masks).toEqual(expect.arrayContaining(Object.values(key.body)));
        // The key lies in the job's private directory, $RUNNER_TEMP/shipline/tmp.
        const runnerTemp = path.join(r.tempDir, 'runner-temp');
        expect(path.dirname(path.dirname(r.outputs['key-file']!))).toBe(path.join(runnerTemp, 'shipline', 'tmp'));
        // The runner's post entry with the saved state, and the RUNNER_TEMP and workspace it gives every phase.
        const stateEnv = Object.fromEntries(Object.entries(r.state).map(([k, v]) => [`STATE_${k}`, v]));
        const post = await run(node ?? process.execPath, [path.join(repoRoot, POST)], {
          env: {
            PATH: process.env.PATH ?? '',
            GITHUB_ACTIONS: 'true',
            RUNNER_TEMP: runnerTemp,
            GITHUB_WORKSPACE: r.workspace,
            ...stateEnv,
          },
          cwd: r.workspace,
        });
        expect(post.code).toBe(0);
        expect(fs.existsSync(path.dirname(r.outputs['key-file']!))).toBe(false);
        expect(fs.readdirSync(runnerTemp)).toEqual([]);
        expectNoLeaks({
          secrets: { ...key.body, b64 },
          texts: { stdout: r.stdout, stderr: r.stderr, post: post.stdout + post.stderr },
          files: [r.files.output, r.files.env, r.files.state],
          dirs: [r.workspace, runnerTemp],
        });
      } finally {
        r.cleanup();
      }
    }
  });
});
