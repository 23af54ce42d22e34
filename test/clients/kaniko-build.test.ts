// kaniko-build through its real clients, buildah path, against the bench: the bundle as
// GitHub's runner runs it (Node 24 when the bench has it; main then post) and the GitLab
// template under gitlab-ci-local. Each pushes to the basic-auth registry with credentials
// from a base64 docker-config variable; skopeo sees every tag at the output digest; the
// auth file is gone after the job; no secret in any log, output, state or file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, runOk } from '../support/exec';
import { runGithubAction } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { validateActionYml, validateGitlabTemplate } from '../support/schema';
import { describeBench } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { dockerConfigB64, makeWorkspace, privateStorage, stepWorkDirs } from '../support/kaniko-build-run';

jest.setTimeout(300_000);

/** A job's dotenv report as gitlab-ci-local keeps it (under the report's own relative path). */
function dotenvReport(dir: string, job: string): Record<string, string> {
  const file = path.join(dir, '.gitlab-ci-local/artifacts', job, '.gitlab-ci-reports/dotenv/.shipline/outputs.env');
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

const status = (r: { exitCode: number; stdout: string; stderr: string }) =>
  `exit ${r.exitCode}\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`;

describe('kaniko-build wrappers', () => {
  test("action.yml passes GitHub's schema, with a post that always runs", () => {
    const file = path.join(repoRoot, 'components/kaniko-build/action.yml');
    const r = validateActionYml(file);
    expect(r.errors).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toMatch(
      /post: \.\.\/\.\.\/dist\/kaniko-build\/post\.js\n\s+post-if: always\(\)/,
    );
  });
  test("GitLab template passes GitLab's CI schema; inputs reach the job as variables only", () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates/kaniko-build.yml'), 'utf8');
    // A realistic value for every input (the helper interpolates text, so an empty one
    // would become YAML null, which GitLab's own structured interpolation never produces).
    const inputs = {
      images: 'registry.example.com/team/app',
      file: 'docker/Dockerfile',
      target: 'final',
      'build-args': 'A=1',
      tags: 'defaults',
      labels: 'team=x',
      'cache-repo': 'registry.example.com/team/app/cache',
      'smoke-target': 'smoke-test',
      'auth-config-variable': 'HARBOR_ROBOT_CREDS_JSON',
      registry: '$CI_REGISTRY',
      username: '$CI_REGISTRY_USER',
      password: '$CI_REGISTRY_PASSWORD',
      'gcp-key-variable': 'GCP_SERVICE_ACCOUNT_KEY',
      'gcp-registries': 'europe-docker.pkg.dev',
      'kaniko-config-dir': '/kaniko/.docker',
      isolation: 'chroot',
    };
    const r = validateGitlabTemplate(text, inputs);
    // gitlab-ci-local 4.73's copy of the schema predates `spec:component` (GitLab 16.11+).
    expect(
      r.errors.filter(
        (e) => !/^header: \/spec must NOT have additional properties \{"additionalProperty":"component"\}/.test(e),
      ),
    ).toEqual([]);
    // the job's script runs the steps; only the user's own line arrays (before-script, script) are inputs there
    const body = text.slice(text.indexOf('\n---'));
    const script = body.slice(body.indexOf('  script:'));
    expect(script).not.toMatch(/\$\[\[\s*inputs\.(?!(before-)?script\b)/);
  });
});

describe('GitLab template, kaniko path (executor stand-in)', () => {
  test('auto picks the executor; it reads the credentials from DOCKER_CONFIG; the job leaves no config behind', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-clients-kaniko-'));
    try {
      const executor = path.join(root, 'kaniko/executor');
      fs.mkdirSync(path.dirname(executor));
      fs.copyFileSync(path.join(repoRoot, 'test/fixtures/kaniko/executor'), executor);
      fs.chmodSync(executor, 0o755);
      const configDir = path.join(root, 'kaniko/.docker');
      fs.mkdirSync(configDir);
      const record = path.join(root, 'record');
      const creds = dockerConfigB64('harbor.example.com', 'robot$ci', 'CANARY-gitlab-kaniko-5e6f7a8b');
      const r = await runGitlabCiLocal({
        ciYml: {
          include: [
            componentInclude('kaniko-build', {
              images: 'harbor.example.com/team/app',
              executor,
              'auth-config-variable': 'HARBOR_ROBOT_CREDS_JSON',
            }),
          ],
        },
        pipeline: { kind: 'mr', mrIid: '7' },
        files: { Dockerfile: 'FROM harbor.example.com/base/busybox:1\nRUN true\n' },
        fileVariables: { HARBOR_ROBOT_CREDS_JSON: creds },
        // As in the kaniko images: DOCKER_CONFIG names the executor's config directory.
        variables: { DOCKER_CONFIG: configDir, KANIKO_STANDIN_RECORD: record },
      });
      try {
        expect(status(r)).toMatch(/^exit 0/);
        const call = JSON.parse(fs.readFileSync(path.join(record, '1.json'), 'utf8')) as {
          argv: string[];
          config: string;
          mode: string;
        };
        expect(call.argv).toEqual([
          `--context=dir://${r.dir}`,
          `--dockerfile=${path.join(r.dir, 'Dockerfile')}`,
          '--destination=harbor.example.com/team/app:MR-7',
          ...call.argv.filter((a) => a.startsWith('--label=')),
          expect.stringMatching(/^--digest-file=/),
          expect.stringMatching(/^--image-name-with-digest-file=/),
        ]);
        expect(JSON.parse(call.config)).toEqual({
          auths: {
            'harbor.example.com': { auth: Buffer.from('robot$ci:CANARY-gitlab-kaniko-5e6f7a8b').toString('base64') },
          },
        });
        expect(call.mode).toBe('600');
        expect(dotenvReport(r.dir, 'kaniko-build').KANIKO_BUILD_TAGS).toBe('harbor.example.com/team/app:MR-7');
        expect(fs.readdirSync(configDir)).toEqual([]);
        expectNoLeaks({
          secrets: { creds, password: 'CANARY-gitlab-kaniko-5e6f7a8b' },
          texts: { stdout: r.stdout, stderr: r.stderr, log: r.jobLog('kaniko-build') },
          dirs: [r.dir],
        });
      } finally {
        r.cleanup();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describeBench(['registries', 'base-image'], 'kaniko-build clients, buildah path', (tb) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-clients-'));
  const creds = dockerConfigB64(tb.TB_REGISTRY_BASIC, tb.TB_REGISTRY_BASIC_USER, tb.TB_REGISTRY_BASIC_PASSWORD);
  const secrets = { password: tb.TB_REGISTRY_BASIC_PASSWORD, creds };
  const skopeoAuth = path.join(root, 'skopeo-auth.json');
  fs.writeFileSync(skopeoAuth, Buffer.from(creds, 'base64'), { mode: 0o600 });
  // An empty docker config of the job's own, so the runner's ~/.docker plays no part.
  const storage = privateStorage(root);
  const dockerConfig = path.join(root, 'docker-config');
  fs.mkdirSync(dockerConfig);
  const repo = (client: string) =>
    `${tb.TB_REGISTRY_BASIC}/kaniko-build-${client}-${crypto.randomBytes(4).toString('hex')}/app`;
  const digestOf = async (ref: string) => {
    const r = await run('skopeo', ['inspect', '--tls-verify=false', '--authfile', skopeoAuth, `docker://${ref}`], {
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { Digest: string }).Digest;
  };

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('GitHub runtime: push event on main pushes <sha8> and latest; post runs; nothing left, nothing leaked', async () => {
    const node = requireNode24();
    const ws = makeWorkspace(tb.TB_BASE_IMAGE, { parent: root });
    const image = repo('github');
    const r = await runGithubAction({
      action: 'components/kaniko-build/action.yml',
      workspace: ws,
      inputs: {
        images: image,
        'auth-config-variable': 'HARBOR_ROBOT_CREDS_JSON',
        target: 'final',
        'smoke-target': 'smoke-test',
      },
      env: { HARBOR_ROBOT_CREDS_JSON: creds, ...storage.env, DOCKER_CONFIG: dockerConfig },
      ...(node ? { node } : {}),
    });
    try {
      expect(status({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })).toMatch(/^exit 0/);
      expect(r.postExitCode).toBe(0);
      const tags = r.outputs.tags!.split('\n');
      expect(tags).toEqual([`${image}:01234567`, `${image}:latest`]);
      expect(r.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      for (const t of tags) expect(await digestOf(t)).toBe(r.outputs.digest);
      expect(r.outputs.builder).toBe('buildah');
      // The variable was masked before use; the work dir with the auth file is gone.
      expect(r.masks).toContain(creds);
      expect(stepWorkDirs(path.join(r.tempDir, 'runner-temp'))).toEqual([]);
      expect(fs.readdirSync(dockerConfig)).toEqual([]);
      expectNoLeaks({
        secrets,
        texts: {
          stdout: r.stdout,
          stderr: r.stderr,
          postStdout: r.postStdout,
          postStderr: r.postStderr,
          summary: r.summary,
        },
        files: Object.values(r.files),
        dirs: [ws, path.join(r.tempDir, 'runner-temp')],
      });
    } finally {
      r.cleanup();
    }
  });

  test('GitLab template under gitlab-ci-local: the digest reaches a later job; after_script leaves nothing', async () => {
    const image = repo('gitlab');
    const tmp = fs.mkdtempSync(path.join(root, 'job-tmp-'));
    const ws = makeWorkspace(tb.TB_BASE_IMAGE, { parent: root });
    const files = Object.fromEntries(fs.readdirSync(ws).map((f) => [f, fs.readFileSync(path.join(ws, f), 'utf8')]));
    // The job's private directory (state, ctx.tempDir with the auth file): a path of this
    // test instead of /tmp/shipline-$CI_JOB_ID, so the test sees after_script remove it.
    const runDir = path.join(root, `gl-run-${crypto.randomBytes(4).toString('hex')}`);
    const r = await runGitlabCiLocal({
      ciYml: {
        stages: ['build', 'test'],
        'kaniko-build': { variables: { SHIPLINE_RUN_DIR: runDir } },
        include: [
          componentInclude('kaniko-build', {
            images: image,
            'auth-config-variable': 'HARBOR_ROBOT_CREDS_JSON',
            'smoke-target': 'smoke-test',
            target: 'final',
          }),
        ],
        'use-image': {
          stage: 'test',
          needs: ['kaniko-build'],
          script: ['echo "digest=$KANIKO_BUILD_DIGEST"', 'echo "tags=$KANIKO_BUILD_TAGS"'],
        },
      },
      pipeline: 'default-branch',
      files,
      fileVariables: { HARBOR_ROBOT_CREDS_JSON: creds },
      variables: { ...storage.env, TMPDIR: tmp, DOCKER_CONFIG: dockerConfig },
    });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: r.dir })).stdout.trim();
      const dotenv = dotenvReport(r.dir, 'kaniko-build');
      const tags = [`${image}:${sha.slice(0, 8)}`, `${image}:latest`];
      expect(dotenv.KANIKO_BUILD_TAGS).toBe(tags.join(' '));
      expect(dotenv.KANIKO_BUILD_DIGEST).toMatch(/^sha256:[0-9a-f]{64}$/);
      for (const t of tags) expect(await digestOf(t)).toBe(dotenv.KANIKO_BUILD_DIGEST);
      expect(r.stdout).toContain(`digest=${dotenv.KANIKO_BUILD_DIGEST}`);
      expect(stepWorkDirs(tmp)).toEqual([]);
      expect(fs.readdirSync(dockerConfig)).toEqual([]);
      // state and the work dir lived in the private directory, which after_script removed
      expect(r.jobLog('kaniko-build')).toContain(`${runDir}/tmp/shipline-kaniko-build-`);
      expect(fs.existsSync(runDir)).toBe(false);
      expect(fs.existsSync(path.join(r.dir, '.shipline/state'))).toBe(false);
      expectNoLeaks({
        secrets,
        texts: { stdout: r.stdout, stderr: r.stderr, log: r.jobLog('kaniko-build') },
        dirs: [r.dir, tmp],
      });
    } finally {
      r.cleanup();
    }
  });
});
