// kaniko-build's buildah path against the bench, no stubs: a multi-stage Dockerfile FROM the
// bench registry's base image, built by the real buildah (auto: no /kaniko/executor here),
// pushed to the basic-auth registry with credentials from a base64 docker-config variable;
// skopeo sees every tag at the output digest; the auth file is gone after; no canary leaks.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBench } from '../support/testbed';
import { repoRoot, run } from '../support/exec';
import { createArgvRecorder, expectNoLeaks, plantCanaries } from '../support/canary';
import {
  dockerConfigB64,
  makeWorkspace,
  privateStorage,
  runKanikoBuild,
  stepWorkDirs,
} from '../support/kaniko-build-run';

jest.setTimeout(240_000);

const SHA = 'fedcba9876543210fedcba9876543210fedcba98';

describeBench(['registries', 'base-image'], 'kaniko-build with buildah against the bench registries', (tb) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-int-'));
  const recorder = createArgvRecorder({ binaries: ['buildah'], dir: path.join(root, 'argv') });
  const canaries = plantCanaries('unused');
  // A skopeo auth file of the test's own, outside everything the step touches.
  const skopeoAuth = path.join(root, 'skopeo-auth.json');
  fs.writeFileSync(
    skopeoAuth,
    Buffer.from(
      dockerConfigB64(tb.TB_REGISTRY_BASIC, tb.TB_REGISTRY_BASIC_USER, tb.TB_REGISTRY_BASIC_PASSWORD),
      'base64',
    ),
    { mode: 0o600 },
  );
  const repo = `${tb.TB_REGISTRY_BASIC}/kaniko-build-${crypto.randomBytes(4).toString('hex')}/app`;
  const creds = dockerConfigB64(tb.TB_REGISTRY_BASIC, tb.TB_REGISTRY_BASIC_USER, tb.TB_REGISTRY_BASIC_PASSWORD);
  const secrets = { password: tb.TB_REGISTRY_BASIC_PASSWORD, creds, ...canaries };

  const storage = privateStorage(root);
  // A buildah wrapper in front of the argv recorder: logs the mode of the --authfile it gets.
  const authLog = path.join(root, 'authfile.log');
  const wrapDir = path.join(root, 'wrap');
  fs.mkdirSync(wrapDir);
  fs.writeFileSync(
    path.join(wrapDir, 'buildah'),
    `#!/usr/bin/env bash\nprev=\nfor a in "$@"; do if [ "$prev" = --authfile ]; then echo "$1 $(stat -c %a "$a") $(stat -c %a "$(dirname "$a")") $a" >> '${authLog}'; fi; prev=$a; done\nexec '${path.join(recorder.binDir, 'buildah')}' "$@"\n`,
    { mode: 0o755 },
  );
  /**
   * One job's directories: `tmp` (its TMPDIR) and `runDir`, the job's private directory as
   * the template makes it (SHIPLINE_RUN_DIR, 0700, outside the checkout), whose `tmp/` is
   * ctx.tempDir, where the step's work dirs (and the auth file) live.
   */
  const newJob = () => {
    const tmp = fs.mkdtempSync(path.join(root, 'tmp-'));
    const runDir = fs.mkdtempSync(path.join(root, 'run-')); // 0700, fresh
    return { tmp, runDir, work: path.join(runDir, 'tmp'), dirs: [tmp, runDir] };
  };
  type Job = ReturnType<typeof newJob>;
  const envFor = (ws: string, job: Job): Record<string, string | undefined> => ({
    PATH: [wrapDir, recorder.binDir, process.env.PATH].join(path.delimiter),
    HOME: path.join(root, 'home'),
    ...storage.env,
    TMPDIR: job.tmp,
    SHIPLINE_RUN_DIR: job.runDir,
    GITLAB_CI: 'true',
    CI_JOB_ID: String(process.pid),
    CI_PROJECT_DIR: ws,
    CI_COMMIT_SHA: SHA,
    CI_COMMIT_BRANCH: 'main',
    CI_DEFAULT_BRANCH: 'main',
    CI_PIPELINE_SOURCE: 'push',
    HARBOR_ROBOT_CREDS_JSON: creds,
  });
  const inspect = (ref: string) =>
    run('skopeo', ['inspect', '--tls-verify=false', '--authfile', skopeoAuth, `docker://${ref}`], {
      timeoutMs: 60_000,
    });
  const digestOf = async (ref: string) => {
    const res = await inspect(ref);
    expect(res.code).toBe(0);
    return (JSON.parse(res.stdout) as { Digest: string }).Digest;
  };

  afterAll(() => {
    recorder.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('multi-stage build FROM the bench base image, smoke stage first, pushed with a base64 docker-config variable', async () => {
    const ws = makeWorkspace(tb.TB_BASE_IMAGE, { parent: root });
    const job = newJob();
    const r = await runKanikoBuild(
      [
        '--images',
        repo,
        '--auth-config-variable',
        'HARBOR_ROBOT_CREDS_JSON',
        '--target',
        'final',
        '--smoke-target',
        'smoke-test',
        '--build-args',
        'GREETING_SUFFIX=from-buildah',
      ],
      envFor(ws, job),
      ws,
    );
    expect(r.stderr).toContain('builder: buildah');
    if (r.code !== 0) console.log(r.stderr.split('\n').slice(-25).join('\n'));
    expect(r.code).toBe(0);
    expect(r.outputs.builder).toBe('buildah');
    expect(r.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const tags = [`${repo}:${SHA.slice(0, 8)}`, `${repo}:latest`];
    expect(r.outputs.tags).toBe(tags.join('\n'));
    for (const ref of tags) {
      const res = await inspect(ref);
      expect(res.code).toBe(0);
      const info = JSON.parse(res.stdout) as { Digest: string; Labels: Record<string, string> };
      expect(info.Digest).toBe(r.outputs.digest);
      expect(info.Labels['org.opencontainers.image.revision']).toBe(SHA);
    }
    // The smoke stage ran before the final build, and buildah got the auth file, not a password.
    const calls = recorder.records().map((c) => c.argv);
    const buds = calls.filter((a) => a[0] === 'bud');
    expect(buds.map((a) => a[a.indexOf('--target') + 1])).toEqual(['smoke-test', 'final']);
    expect(calls.filter((a) => a[0] === 'push').map((a) => a[a.length - 1])).toEqual(tags.map((t) => `docker://${t}`));
    for (const a of [...buds, ...calls.filter((c) => c[0] === 'push')]) expect(a).toContain('--authfile');
    // Every call got the same auth file: 0600, in a 0700 work dir under ctx.tempDir (the job's private dir).
    const authCalls = fs
      .readFileSync(authLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(authCalls.map((c) => c[0])).toEqual(['bud', 'bud', 'push', 'push']);
    expect(new Set(authCalls.map((c) => c.slice(1).join(' '))).size).toBe(1);
    const [, fileMode, dirMode, authFile] = authCalls[0]!;
    expect([fileMode, dirMode]).toEqual(['600', '700']);
    expect(authFile).toMatch(new RegExp(`^${job.work}/shipline-kaniko-build-[^/]+/auth\\.json$`));
    expect(fs.existsSync(authFile!)).toBe(false);
    // The auth file lived in the step's work dir, which is gone; nothing leaked anywhere.
    expect(stepWorkDirs(job.work)).toEqual([]);
    expect(fs.readdirSync(job.work)).toEqual([]);
    expect(fs.readdirSync(job.tmp)).toEqual([]); // nothing outside the private directory
    expectNoLeaks({
      secrets,
      texts: { stdout: r.stdout, stderr: r.stderr },
      dirs: [ws, ...job.dirs],
      argvLogs: [recorder],
    });
    // Local images the step made are removed (the pushed image and the smoke image).
    const images = await run('buildah', ['images', '--all', '--format', '{{.Name}}:{{.Tag}}'], {
      env: { ...process.env, ...storage.env },
    });
    expect(images.code).toBe(0);
    expect(images.stdout.trim().split('\n')).toEqual([tb.TB_BASE_IMAGE]);
  });

  test('cache with cache-repo: a build on a fresh runner (empty storage) pulls every layer from the cache repository', async () => {
    // No ARG in the Dockerfile: buildah 1.28 does not restore ARG steps from a remote cache
    // (containers/buildah#4315). The cache repository is fresh (repo has a random name).
    const ws = makeWorkspace(tb.TB_BASE_IMAGE, { parent: root, buildArg: false });
    const image = `${repo}-cached`;
    const args = [
      '--images',
      image,
      '--auth-config-variable',
      'HARBOR_ROBOT_CREDS_JSON',
      '--cache',
      '--cache-repo',
      `${image}/cache`,
    ];
    const runOnFreshRunner = async () => {
      const fresh = privateStorage(root);
      const job = newJob();
      try {
        return await runKanikoBuild(args, { ...envFor(ws, job), ...fresh.env }, ws);
      } finally {
        fs.rmSync(fresh.dir, { recursive: true, force: true });
      }
    };
    const first = await runOnFreshRunner();
    expect(first.code).toBe(0);
    expect(first.stderr).not.toContain('Cache pulled from remote');
    expect(first.stderr).toMatch(/Pushing cache .*-cached\/cache:/);
    const second = await runOnFreshRunner();
    expect(second.code).toBe(0);
    // Every RUN/COPY step of the build stage and the final stage came from the cache repo.
    expect((second.stderr.match(/Cache pulled from remote .*-cached\/cache:/g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(await digestOf(`${image}:${SHA.slice(0, 8)}`)).toBe(second.outputs.digest);
  });

  test('a failing smoke stage stops before any push, and the auth file is still removed', async () => {
    const ws = makeWorkspace(tb.TB_BASE_IMAGE, { smokeFails: true, parent: root });
    const job = newJob();
    const failing = `${repo}-smoke-fails`;
    const r = await runKanikoBuild(
      ['--images', failing, '--auth-config-variable', 'HARBOR_ROBOT_CREDS_JSON', '--smoke-target', 'smoke-test'],
      envFor(ws, job),
      ws,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: buildah bud \(smoke\) failed with exit code \d+/);
    expect(r.stdout).not.toMatch(/^digest=/m);
    const res = await inspect(`${failing}:latest`);
    expect(res.code).not.toBe(0);
    expect(stepWorkDirs(job.work)).toEqual([]);
    expectNoLeaks({ secrets, texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [ws, ...job.dirs] });
  });

  test("ecr-login's docker config entry is used (no variable): the real ecr-login bundle, then the build, then its --post", async () => {
    const ws = makeWorkspace(tb.TB_BASE_IMAGE, { parent: root });
    const job = newJob();
    const dockerConfig = path.join(root, `ecr-docker-${crypto.randomBytes(3).toString('hex')}`);
    const awsEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: path.join(root, 'home'),
      DOCKER_CONFIG: dockerConfig,
      AWS_ACCESS_KEY_ID: tb.TB_AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: tb.TB_AWS_SECRET_ACCESS_KEY,
      AWS_REGION: tb.TB_AWS_REGION,
      AWS_ENDPOINT_URL_ECR: tb.TB_ECR_URL,
      AWS_EC2_METADATA_DISABLED: 'true',
      SHIPLINE_RUN_DIR: fs.mkdtempSync(path.join(root, 'ecr-run-')),
    };
    const ecrLogin = path.join(repoRoot, 'dist/ecr-login/index.js');
    const login = await run(process.execPath, [ecrLogin], { cwd: ws, env: awsEnv });
    expect(login.code).toBe(0);
    const configFile = path.join(dockerConfig, 'config.json');
    const before = fs.readFileSync(configFile, 'utf8');
    const image = `${tb.TB_ECR_REGISTRY}/kaniko-build-ecr-${crypto.randomBytes(4).toString('hex')}/app`;
    const env = { ...envFor(ws, job), HARBOR_ROBOT_CREDS_JSON: undefined, DOCKER_CONFIG: dockerConfig };
    const r = await runKanikoBuild(['--images', image, '--tags', 'type=raw,value=ecr'], env, ws);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `registry credentials for ${tb.TB_ECR_REGISTRY} (auths["${tb.TB_ECR_REGISTRY}"] in ${configFile})`,
    );
    expect(await digestOf(`${image}:ecr`)).toBe(r.outputs.digest);
    // The job's docker config is read, never written; the copy in the auth file is gone.
    expect(fs.readFileSync(configFile, 'utf8')).toBe(before);
    expect(stepWorkDirs(job.work)).toEqual([]);
    const post = await run(process.execPath, [ecrLogin, '--post'], { cwd: ws, env: awsEnv });
    expect(post.code).toBe(0);
    expectNoLeaks({
      secrets: { ...secrets, ecr: tb.TB_ECR_PASSWORD, aws: tb.TB_AWS_SECRET_ACCESS_KEY },
      texts: { stdout: r.stdout, stderr: r.stderr },
      dirs: [ws, ...job.dirs],
      argvLogs: [recorder],
    });
  });

  test("wrong credentials: the push fails with the registry's answer, the password never shows", async () => {
    const ws = makeWorkspace(tb.TB_BASE_IMAGE, { parent: root });
    const job = newJob();
    const wrong = dockerConfigB64(tb.TB_REGISTRY_BASIC, tb.TB_REGISTRY_BASIC_USER, canaries.unused);
    const r = await runKanikoBuild(
      [
        '--images',
        `${repo}-denied`,
        '--auth-config-variable',
        'HARBOR_ROBOT_CREDS_JSON',
        '--tags',
        'type=raw,value=denied',
      ],
      { ...envFor(ws, job), HARBOR_ROBOT_CREDS_JSON: wrong },
      ws,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/buildah push .*:denied failed with exit code/);
    expect(r.stderr).toMatch(/unauthorized|authentication required/i);
    expect(stepWorkDirs(job.work)).toEqual([]);
    expectNoLeaks({
      secrets: { ...secrets, wrong },
      texts: { stdout: r.stdout, stderr: r.stderr },
      dirs: [ws, ...job.dirs],
    });
  });
});
