// registry-login through its clients, against the bench's basic-auth and token registries:
// the bundle as GitHub's runner runs it (INPUT_*, GITHUB_ENV, GITHUB_STATE; main, a docker
// push with the exported DOCKER_CONFIG, then post), and the GitLab template under
// gitlab-ci-local (the $CI_REGISTRY default with CI_REGISTRY_USER / CI_REGISTRY_PASSWORD plus
// a `registries` line naming variables; the user's script pushes to both; after_script
// removes the directory). The runner user's ~/.docker is never written; no password in
// any output.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, type RunResult } from '../support/exec';
import { parseFileCommands, runGithubAction } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { describeBench } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';

jest.setTimeout(240_000);

const ACTION = 'components/registry-login/action.yml';
const POST = path.join(repoRoot, 'dist/registry-login/post.js');
const show = (r: { exitCode?: number; code?: number; stdout: string; stderr: string }) =>
  `exit ${r.exitCode ?? r.code}\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`;

describeBench(['registry-basic', 'registry-token', 'token-server', 'docker'], 'registry-login clients', (bench) => {
  const id = crypto.randomBytes(4).toString('hex');
  const images: string[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const i of images) await run('docker', ['image', 'rm', '--force', i]);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const secrets = { basic: bench.TB_REGISTRY_BASIC_PASSWORD, token: bench.TB_REGISTRY_TOKEN_PASSWORD };
  const push = async (dockerConfig: string, ref: string, home: string): Promise<RunResult> => {
    images.push(ref);
    const env = { ...process.env, HOME: home, DOCKER_CONFIG: dockerConfig, DOCKER_HOST: bench.TB_DOCKER_HOST };
    const t = await run('docker', ['tag', bench.TB_BASE_IMAGE_LOCAL, ref], { env, timeoutMs: 60_000 });
    expect(show(t)).toMatch(/^exit 0/);
    return run('docker', ['push', ref], { env, timeoutMs: 120_000 });
  };

  test('GitHub runtime (node 24): main, docker push to both registries, post removes the directory', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-rl-gh-home-'));
    dirs.push(home);
    fs.mkdirSync(path.join(home, '.docker'));
    fs.writeFileSync(path.join(home, '.docker', 'config.json'), '{"auths":{}}');
    const node = requireNode24();
    const r = await runGithubAction({
      action: ACTION,
      ...(node ? { node } : {}),
      runPost: false,
      inputs: {
        registry: bench.TB_REGISTRY_BASIC,
        username: bench.TB_REGISTRY_BASIC_USER,
        password: bench.TB_REGISTRY_BASIC_PASSWORD,
        registries: `${bench.TB_REGISTRY_TOKEN} TOK_USER TOK_PASS`,
      },
      env: { HOME: home, TOK_USER: bench.TB_REGISTRY_TOKEN_USER, TOK_PASS: bench.TB_REGISTRY_TOKEN_PASSWORD },
    });
    try {
      expect(show(r)).toMatch(/^exit 0/);
      const dir = r.outputs['docker-config']!;
      expect(r.env.DOCKER_CONFIG).toBe(dir);
      expect(dir.startsWith(path.join(r.tempDir, 'runner-temp') + path.sep)).toBe(true);
      expect(r.outputs.registries).toBe(`${bench.TB_REGISTRY_BASIC}\n${bench.TB_REGISTRY_TOKEN}`);
      expect(r.masks).toEqual(
        expect.arrayContaining([bench.TB_REGISTRY_BASIC_PASSWORD, bench.TB_REGISTRY_TOKEN_PASSWORD]),
      );
      for (const reg of [bench.TB_REGISTRY_BASIC, bench.TB_REGISTRY_TOKEN]) {
        const p = await push(dir, `${reg}/rl-${id}/gh:1`, home);
        expect(`${reg} ${show(p)}`).toContain(`${reg} exit 0`);
      }
      // The runner's post: the job env with GITHUB_ENV applied and STATE_* from the saved state.
      const postEnv: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!/^(GITHUB_|INPUT_|STATE_|RUNNER_)/.test(k)) postEnv[k] = v;
      const postEnvFile = `${r.files.env}.post`;
      fs.writeFileSync(postEnvFile, '');
      Object.assign(postEnv, {
        HOME: home,
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: r.workspace,
        RUNNER_TEMP: path.join(r.tempDir, 'runner-temp'),
        GITHUB_ENV: postEnvFile,
        GITHUB_STATE: `${r.files.state}.post`,
        GITHUB_OUTPUT: `${r.files.output}.post`,
        ...r.env,
      });
      for (const [k, v] of Object.entries(r.state)) postEnv[`STATE_${k}`] = v;
      const post = await run(node ?? process.execPath, [POST], { cwd: r.workspace, env: postEnv, timeoutMs: 60_000 });
      expect(show(post)).toMatch(/^exit 0/);
      expect(post.stdout).toContain(`removed ${dir}`);
      expect(fs.existsSync(dir)).toBe(false);
      // later posts run without it
      expect(parseFileCommands(fs.readFileSync(postEnvFile, 'utf8')).DOCKER_CONFIG).toBe('');
      expect(fs.readFileSync(path.join(home, '.docker', 'config.json'), 'utf8')).toBe('{"auths":{}}');
      expectNoLeaks({
        secrets,
        texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr },
        dirs: [r.tempDir, home],
      });
    } finally {
      r.cleanup();
    }
  });

  test('GitHub runtime: rejected credentials fail the step (exit 1) with a hint; post has nothing to do', async () => {
    const r = await runGithubAction({
      action: ACTION,
      inputs: { registry: bench.TB_REGISTRY_TOKEN, username: 'shipline', password: 'not-the-password' },
    });
    try {
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(/::error::.*refused the credentials/);
      expect(r.stdout).toMatch(/hint: .*rejected the user name or password from inputs username \/ password/);
      expect(r.env.DOCKER_CONFIG).toBeUndefined();
      expect(r.postExitCode).toBe(0);
    } finally {
      r.cleanup();
    }
  });

  test('GitLab template under gitlab-ci-local: a bare $CI_REGISTRY line (its defaults) and a line naming variables; the script pushes to both; after_script removes the directory', async () => {
    const realConfig = path.join(os.homedir(), '.docker', 'config.json');
    const before = fs.existsSync(realConfig) ? fs.readFileSync(realConfig, 'utf8') : undefined;
    const basicRef = `${bench.TB_REGISTRY_BASIC}/rl-${id}/gl:1`;
    const tokenRef = `${bench.TB_REGISTRY_TOKEN}/rl-${id}/gl:1`;
    images.push(basicRef, tokenRef);
    const r = await runGitlabCiLocal({
      ciYml: {
        stages: ['build'],
        include: [
          componentInclude('registry-login', {
            // a bare $CI_REGISTRY line: GitLab expands the host (not a secret), the step adds its defaults
            registries: `$CI_REGISTRY\n${bench.TB_REGISTRY_TOKEN} TOK_USER TOK_PASS`,
            script: [
              'echo "docker-config=$DOCKER_CONFIG"',
              `docker tag ${bench.TB_BASE_IMAGE_LOCAL} ${basicRef}`,
              `docker push ${basicRef}`,
              `docker tag ${bench.TB_BASE_IMAGE_LOCAL} ${tokenRef}`,
              `docker push ${tokenRef}`,
            ],
          }),
        ],
      },
      pipeline: 'default-branch',
      variables: { CI_REGISTRY: bench.TB_REGISTRY_BASIC, TOK_USER: bench.TB_REGISTRY_TOKEN_USER },
      fileVariables: {
        CI_REGISTRY_USER: bench.TB_REGISTRY_BASIC_USER,
        CI_REGISTRY_PASSWORD: bench.TB_REGISTRY_BASIC_PASSWORD,
        TOK_PASS: bench.TB_REGISTRY_TOKEN_PASSWORD,
      },
    });
    try {
      expect(show(r)).toMatch(/^exit 0/);
      const out = r.stdout + r.stderr;
      expect(out).toContain('logged in to ' + bench.TB_REGISTRY_BASIC + ' as ' + bench.TB_REGISTRY_BASIC_USER);
      expect(out).toContain('CI_REGISTRY_USER / CI_REGISTRY_PASSWORD');
      expect(out).toContain('variables TOK_USER / TOK_PASS');
      const dir = /docker-config=(\S+)/.exec(out)?.[1];
      expect(dir).toMatch(/\/shipline-docker-[A-Za-z0-9]{6}$/);
      expect(fs.existsSync(dir!)).toBe(false);
      expect(out).toMatch(/logged out of .*removed /);
      const report = r.dotenv('registry-login');
      expect(report).toMatchObject({ REGISTRY_LOGIN_REGISTRY: bench.TB_REGISTRY_BASIC });
      // the directory is this job's only (and gone): later jobs do not get its path
      expect(report).not.toHaveProperty('REGISTRY_LOGIN_DOCKER_CONFIG');
      const after = fs.existsSync(realConfig) ? fs.readFileSync(realConfig, 'utf8') : undefined;
      expect(after).toBe(before);
      expectNoLeaks({ secrets, texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [r.dir] });
    } finally {
      r.cleanup();
    }
  });
});
