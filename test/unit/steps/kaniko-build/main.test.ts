// kaniko-build's main: collecting every credential source before the build, and the
// kaniko path of the step, run through the real runner with an executor stand-in
// (test/fixtures/kaniko/executor: kaniko cannot run here) that records its argv and the
// docker config it reads. Asserts the command line and /kaniko/.docker/config.json the
// kaniko README specifies for the inputs, the seed-004 early failure on an empty
// credentials variable, the smoke target stopping the build, and cleanup of the file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../../support/exec';
import { plantCanaries, expectNoLeaks } from '../../../support/canary';
import { daemonlessBuild } from '../../../support/daemonless-build';
import { dockerConfigB64, runKanikoBuild } from '../../../support/kaniko-build-run';
import { collectAuth, containersAuthPath } from '../../../../src/steps/kaniko-build/main';
import type { ShiplineError } from '../../../../src/lib/util/errors';

interface Recorded {
  argv: string[];
  dockerConfig: string | null;
  configPath: string;
  config: string | null;
  mode: string | null;
}

const SHA = '0123456789abcdef0123456789abcdef01234567';
const REGISTRY = 'harbor.example.com';
const canaries = plantCanaries('robotpassword', 'gcpkey');
const ROBOT = 'robot$shipline+ci';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

function setup(dockerfileBase = `${REGISTRY}/base/busybox:1`) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-kaniko-'));
  roots.push(root);
  const ws = path.join(root, 'ws');
  fs.mkdirSync(ws);
  fs.writeFileSync(
    path.join(ws, 'Dockerfile'),
    `FROM ${dockerfileBase} AS build\nRUN echo built > /b\nFROM build AS smoke-test\nRUN test -f /b\nFROM ${dockerfileBase} AS final\nCOPY --from=build /b /b\n`,
  );
  // The executor at a path of its own (auto picks kaniko when it is executable there).
  const executor = path.join(root, 'kaniko', 'executor');
  fs.mkdirSync(path.dirname(executor), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'test/fixtures/kaniko/executor'), executor);
  fs.chmodSync(executor, 0o755);
  const record = path.join(root, 'record');
  const configDir = path.join(root, 'kaniko', '.docker');
  const tmp = path.join(root, 'tmp');
  fs.mkdirSync(tmp);
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: path.join(root, 'home'),
    TMPDIR: tmp,
    RUNNER_TEMP: tmp,
    GITLAB_CI: 'true',
    CI_PROJECT_DIR: ws,
    CI_COMMIT_SHA: SHA,
    CI_COMMIT_BRANCH: 'main',
    CI_DEFAULT_BRANCH: 'main',
    CI_PIPELINE_SOURCE: 'push',
    KANIKO_STANDIN_RECORD: record,
    HARBOR_ROBOT_CREDS_JSON: dockerConfigB64(REGISTRY, ROBOT, canaries.robotpassword),
  };
  const records = (): Recorded[] =>
    fs.existsSync(record)
      ? fs
          .readdirSync(record)
          .sort()
          .map((f) => JSON.parse(fs.readFileSync(path.join(record, f), 'utf8')) as Recorded)
      : [];
  return { root, ws, executor, configDir, env, records, tmp };
}

const baseArgs = (s: ReturnType<typeof setup>) => [
  '--executor',
  s.executor,
  '--kaniko-config-dir',
  s.configDir,
  '--images',
  `${REGISTRY}/team/app`,
  '--auth-config-variable',
  'HARBOR_ROBOT_CREDS_JSON',
];

describe('kaniko-build, kaniko path (executor stand-in)', () => {
  test('argv and /kaniko/.docker/config.json are what the kaniko docs specify; file removed after', async () => {
    const s = setup();
    const r = await runKanikoBuild(
      [
        ...baseArgs(s),
        '--target',
        'final',
        '--build-args',
        'PKG_VERSIONS=pinned\nMSG=two words',
        '--labels',
        'team=platform',
        '--cache',
        '--cache-repo',
        `${REGISTRY}/team/app/cache`,
      ],
      s.env,
      s.ws,
    );
    expect(r.stderr).toContain('builder: kaniko');
    expect(r.code).toBe(0);
    const calls = s.records();
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    const labels = call.argv.filter((a) => a.startsWith('--label='));
    const runTmp = `${s.tmp}/shipline-[0-9a-z]+/[0-9a-f]{12}/tmp`;
    expect(call.argv).toEqual([
      `--context=dir://${s.ws}`,
      `--dockerfile=${path.join(s.ws, 'Dockerfile')}`,
      `--destination=${REGISTRY}/team/app:01234567`,
      `--destination=${REGISTRY}/team/app:latest`,
      '--target=final',
      '--build-arg=PKG_VERSIONS=pinned',
      '--build-arg=MSG=two words',
      ...labels,
      '--cache=true',
      `--cache-repo=${REGISTRY}/team/app/cache`,
      // ctx.tempDir: <run dir>/tmp, the CLI default run dir under the run's TMPDIR.
      expect.stringMatching(new RegExp(`^--digest-file=${runTmp}/shipline-kaniko-build-[^/]+/digest$`)),
      expect.stringMatching(
        new RegExp(`^--image-name-with-digest-file=${runTmp}/shipline-kaniko-build-[^/]+/image-name-with-digest$`),
      ),
    ]);
    // OCI labels from the tag rules plus the extra one, each as --label=key=value.
    expect(labels).toContain(`--label=org.opencontainers.image.revision=${SHA}`);
    expect(labels).toContain('--label=team=platform');
    // The executor reads DOCKER_CONFIG/config.json: the docs' {"auths": {"<registry>": {"auth": base64(user:password)}}}.
    expect(call.dockerConfig).toBe(s.configDir);
    expect(call.configPath).toBe(path.join(s.configDir, 'config.json'));
    expect(call.mode).toBe('600');
    expect(JSON.parse(call.config!)).toEqual({
      auths: { [REGISTRY]: { auth: Buffer.from(`${ROBOT}:${canaries.robotpassword}`).toString('base64') } },
    });
    // Outputs: the digest kaniko wrote to --digest-file, the tags.
    const digest = 'sha256:' + crypto.createHash('sha256').update(call.argv.join('\0')).digest('hex');
    expect(r.outputs.digest).toBe(digest);
    expect(r.outputs.tags).toBe(`${REGISTRY}/team/app:01234567\n${REGISTRY}/team/app:latest`);
    expect(r.outputs.builder).toBe('kaniko');
    // The step created the file, so it is gone; so is its work dir.
    expect(fs.existsSync(path.join(s.configDir, 'config.json'))).toBe(false);
    // Nothing else under TMPDIR than the run dir, whose tmp/ (ctx.tempDir) is empty again.
    const digestDir = path.dirname(
      call.argv.find((a) => a.startsWith('--digest-file='))!.slice('--digest-file='.length),
    );
    const runTmpDir = path.dirname(digestDir);
    expect(path.relative(s.tmp, runTmpDir).split(path.sep)).toHaveLength(3);
    expect(fs.readdirSync(s.tmp)).toEqual([path.relative(s.tmp, runTmpDir).split(path.sep)[0]]);
    expect(fs.readdirSync(runTmpDir)).toEqual([]);
    expectNoLeaks({ secrets: canaries, texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [s.ws, s.tmp] });
    const post = await runKanikoBuild(baseArgs(s), s.env, s.ws, true);
    expect(post.code).toBe(0);
  });

  test('a bare NAME build argument: the name in argv, the value left to the executor’s environment; image output by digest', async () => {
    const s = setup();
    const value = `val-${crypto.randomBytes(6).toString('hex')}`;
    const r = await runKanikoBuild(
      [...baseArgs(s), '--target', 'final', '--build-args', 'GREETING\nUNSET_ONE\nMSG=hi'],
      { ...s.env, GREETING: value },
      s.ws,
    );
    expect(r.code).toBe(0);
    const call = s.records()[0]!;
    expect(call.argv.filter((a) => a.startsWith('--build-arg='))).toEqual([
      '--build-arg=GREETING',
      '--build-arg=UNSET_ONE',
      '--build-arg=MSG=hi',
    ]);
    expect(call.argv.join(' ')).not.toContain(value);
    expect(r.stderr).toMatch(/build-args: job variable UNSET_ONE is not set \(kaniko passes it empty\)/);
    // kaniko reads no global ARG defaults from shipline: it expands them itself
    expect(r.stderr).not.toMatch(/global ARG defaults/);
    expect(r.outputs.image).toBe(`${REGISTRY}/team/app@${r.outputs.digest}`);
    expect(r.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('a malformed credentials variable is exit 2 even where no builder exists (inputs first, then the job)', async () => {
    const s = setup();
    const empty = fs.mkdtempSync(path.join(s.root, 'no-bin-'));
    const r = await runKanikoBuild(
      [
        '--executor',
        path.join(s.root, 'missing'),
        '--images',
        `${REGISTRY}/team/app`,
        '--auth-config-variable',
        'HARBOR_ROBOT_CREDS_JSON',
      ],
      { ...s.env, PATH: empty, HARBOR_ROBOT_CREDS_JSON: 'not json' },
      s.ws,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: variable HARBOR_ROBOT_CREDS_JSON \(named by input 'auth-config-variable'\)/);
    const ok = await runKanikoBuild(
      [
        '--executor',
        path.join(s.root, 'missing'),
        '--images',
        `${REGISTRY}/team/app`,
        '--auth-config-variable',
        'HARBOR_ROBOT_CREDS_JSON',
      ],
      { ...s.env, PATH: empty },
      s.ws,
    );
    expect(ok.code).toBe(1);
    expect(ok.stderr).toMatch(/no daemonless builder found/);
  });

  test('fails early, naming the variable and the expected form, when the credentials variable is empty (the seed-004 check)', async () => {
    const s = setup();
    for (const value of ['', undefined]) {
      const r = await runKanikoBuild(baseArgs(s), { ...s.env, HARBOR_ROBOT_CREDS_JSON: value }, s.ws);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(
          `error: variable HARBOR_ROBOT_CREDS_JSON \\(named by input 'auth-config-variable'\\) is ${value === undefined ? 'not set' : 'empty'}`,
        ),
      );
      expect(r.stderr).toMatch(/hint: set HARBOR_ROBOT_CREDS_JSON to a docker config JSON, raw or base64-encoded/);
    }
    expect(s.records()).toEqual([]); // the executor never ran
    expect(fs.existsSync(s.configDir)).toBe(false);
  });

  test('a malformed variable fails early without its content in the log', async () => {
    const s = setup();
    const r = await runKanikoBuild(
      baseArgs(s),
      { ...s.env, HARBOR_ROBOT_CREDS_JSON: `{"auths": ${canaries.robotpassword}` },
      s.ws,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "variable HARBOR_ROBOT_CREDS_JSON (named by input 'auth-config-variable') is neither JSON nor base64-encoded JSON",
    );
    expect(s.records()).toEqual([]);
    expectNoLeaks({ secrets: canaries, texts: { stdout: r.stdout, stderr: r.stderr } });
  });

  test('smoke-target first (--no-push --cleanup); its failure stops before the push; credentials removed anyway', async () => {
    const s = setup();
    const ok = await runKanikoBuild([...baseArgs(s), '--smoke-target', 'smoke-test'], s.env, s.ws);
    expect(ok.code).toBe(0);
    const [smoke, main] = s.records();
    expect(smoke!.argv).toEqual([
      `--context=dir://${s.ws}`,
      `--dockerfile=${path.join(s.ws, 'Dockerfile')}`,
      '--target=smoke-test',
      '--no-push',
      '--no-push-cache',
      '--cleanup',
    ]);
    expect(main!.argv.filter((a) => a.startsWith('--destination='))).toHaveLength(2);

    const s2 = setup();
    const bad = await runKanikoBuild(
      [...baseArgs(s2), '--smoke-target', 'smoke-test'],
      { ...s2.env, KANIKO_STANDIN_FAIL_TARGET: 'smoke-test' },
      s2.ws,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/kaniko smoke build \(target smoke-test\) failed with exit code 1/);
    expect(s2.records()).toHaveLength(1);
    expect(fs.existsSync(path.join(s2.configDir, 'config.json'))).toBe(false);
  });

  test("DOCKER_CONFIG as kaniko reads it; an existing config (ecr-login's entry) keeps its entries and gets them back", async () => {
    const s = setup();
    fs.mkdirSync(s.configDir, { recursive: true });
    const before = {
      auths: {
        '123456789012.dkr.ecr.us-east-1.amazonaws.com': { auth: Buffer.from('AWS:ecr-token').toString('base64') },
      },
      credHelpers: { 'public.ecr.aws': 'ecr-login' },
    };
    fs.writeFileSync(path.join(s.configDir, 'config.json'), JSON.stringify(before), { mode: 0o600 });
    const args = baseArgs(s).filter((a, i, all) => a !== '--kaniko-config-dir' && all[i - 1] !== '--kaniko-config-dir');
    const r = await runKanikoBuild([...args, '--push', 'false'], { ...s.env, DOCKER_CONFIG: s.configDir }, s.ws);
    expect(r.code).toBe(0);
    const call = s.records()[0]!;
    expect(call.argv).toContain('--no-push');
    expect(JSON.parse(call.config!)).toEqual({
      ...before,
      auths: {
        ...before.auths,
        [REGISTRY]: { auth: Buffer.from(`${ROBOT}:${canaries.robotpassword}`).toString('base64') },
      },
    });
    expect(JSON.parse(fs.readFileSync(path.join(s.configDir, 'config.json'), 'utf8'))).toEqual(before);
  });

  test("the kaniko image's stock config (gcr.io helpers, credsStore ecr-login) cannot shadow the step's entries; it is put back after", async () => {
    const s = setup();
    fs.mkdirSync(s.configDir, { recursive: true });
    // files/config.json of the kaniko images: helpers and a store win over `auths` in docker's lookup.
    const stock = { auths: {}, credHelpers: { 'gcr.io': 'gcr', 'eu.gcr.io': 'gcr' }, credsStore: 'ecr-login' };
    fs.writeFileSync(path.join(s.configDir, 'config.json'), JSON.stringify(stock, null, '\t'));
    const key = JSON.stringify({
      type: 'service_account',
      client_email: 'ci@p.iam.gserviceaccount.com',
      private_key: `-----BEGIN PRIVATE KEY-----\n${canaries.gcpkey}\n-----END PRIVATE KEY-----\n`,
    });
    const ecr = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    fs.writeFileSync(path.join(s.ws, 'Dockerfile'), `FROM ${ecr}/base/python:3\nRUN true\n`);
    const r = await runKanikoBuild(
      [
        '--executor',
        s.executor,
        '--kaniko-config-dir',
        s.configDir,
        '--images',
        'gcr.io/p/app',
        '--gcp-key-variable',
        'GCP_SERVICE_ACCOUNT_KEY',
      ],
      { ...s.env, GCP_SERVICE_ACCOUNT_KEY: key },
      s.ws,
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(s.records()[0]!.config!)).toEqual({
      auths: { 'gcr.io': { auth: Buffer.from(`_json_key:${key}`).toString('base64') } },
      // gcr.io's helper set aside; the store kept for the ECR base image as an explicit helper.
      credHelpers: { 'eu.gcr.io': 'gcr', [ecr]: 'ecr-login' },
    });
    const after = JSON.parse(fs.readFileSync(path.join(s.configDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    // Exactly the stock file again, its empty "auths" object included.
    expect(after).toEqual(stock);
  });

  test('user:password and a GCP key (_json_key) for Artifact Registry end up in the same config', async () => {
    const s = setup();
    const key = JSON.stringify({
      type: 'service_account',
      client_email: 'ci@p.iam.gserviceaccount.com',
      private_key: `-----BEGIN PRIVATE KEY-----\n${canaries.gcpkey}\n-----END PRIVATE KEY-----\n`,
    });
    const r = await runKanikoBuild(
      [
        '--executor',
        s.executor,
        '--kaniko-config-dir',
        s.configDir,
        '--images',
        `europe-docker.pkg.dev/p/r/app\n${REGISTRY}/team/app`,
        '--gcp-key-variable',
        'GCP_SERVICE_ACCOUNT_KEY',
        '--registry',
        REGISTRY,
        '--username',
        'ci-user',
        '--password',
        canaries.robotpassword,
      ],
      { ...s.env, GCP_SERVICE_ACCOUNT_KEY: key },
      s.ws,
    );
    expect(r.code).toBe(0);
    const auths = (JSON.parse(s.records()[0]!.config!) as { auths: Record<string, { auth: string }> }).auths;
    const decoded = Object.fromEntries(
      Object.entries(auths).map(([k, v]) => [k, Buffer.from(v.auth, 'base64').toString()]),
    );
    expect(decoded).toEqual({
      'europe-docker.pkg.dev': `_json_key:${key}`,
      [REGISTRY]: `ci-user:${canaries.robotpassword}`,
    });
    expectNoLeaks({ secrets: canaries, texts: { stdout: r.stdout, stderr: r.stderr }, dirs: [s.ws, s.tmp] });
  });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-unit-'));
  roots.push(d);
  return d;
};

describe('collecting every source before the build', () => {
  const noInputs: Parameters<typeof collectAuth>[1] = {
    authConfigVariable: undefined,
    gcpKeyVariable: undefined,
    gcpRegistries: [],
    useDockerConfig: true,
    kanikoConfigDir: undefined,
  };
  const p = {
    build: daemonlessBuild({
      pullRegistries: ['127.0.0.1:5001'],
      pushRegistries: ['harbor.example.com'],
      cacheRepo: undefined,
    }),
    login: undefined,
  };
  const write = (file: string, auths: Record<string, string>) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({ auths: Object.fromEntries(Object.entries(auths).map(([k, v]) => [k, { auth: b64(v) }])) }),
    );
  };

  test("buildah: docker config, then buildah's own auth.json, then the variable, then username/password (later wins)", async () => {
    const dir = tmp();
    write(path.join(dir, 'docker/config.json'), {
      'harbor.example.com': 'docker:1',
      '127.0.0.1:5001': 'docker:2',
      'unrelated.example.com': 'x:y',
    });
    write(path.join(dir, 'xdg/containers/auth.json'), { '127.0.0.1:5001': 'podman:3' });
    const env = {
      DOCKER_CONFIG: path.join(dir, 'docker'),
      XDG_RUNTIME_DIR: path.join(dir, 'xdg'),
      V: JSON.stringify({ auths: { 'harbor.example.com': { auth: b64('var:4') } } }),
    };
    expect(containersAuthPath(env)).toBe(path.join(dir, 'xdg/containers/auth.json'));
    expect(containersAuthPath({ ...env, REGISTRY_AUTH_FILE: '/r.json' })).toBe('/r.json');
    const pick = (a: { credentials: { registry: string; username: string; password: string }[] }) =>
      Object.fromEntries(a.credentials.map((c) => [c.registry, `${c.username}:${c.password}`]));
    expect(
      pick(
        await collectAuth(
          env,
          noInputs,
          p,
          'buildah',
          () => undefined,
          () => undefined,
        ),
      ),
    ).toEqual({ 'harbor.example.com': 'docker:1', '127.0.0.1:5001': 'podman:3' });
    expect(
      pick(
        await collectAuth(
          env,
          { ...noInputs, authConfigVariable: 'V' },
          p,
          'buildah',
          () => undefined,
          () => undefined,
        ),
      )['harbor.example.com'],
    ).toBe('var:4');
    const login = { registry: 'harbor.example.com', username: 'u', password: 'pw' };
    expect(
      pick(
        await collectAuth(
          env,
          { ...noInputs, authConfigVariable: 'V' },
          { ...p, login },
          'buildah',
          () => undefined,
          () => undefined,
        ),
      )['harbor.example.com'],
    ).toBe('u:pw');
    // kaniko with its own config dir: the docker config is copied, buildah's file is not;
    // kaniko reading DOCKER_CONFIG itself: nothing to copy. use-docker-config: false reads neither.
    expect(
      pick(
        await collectAuth(
          env,
          { ...noInputs, kanikoConfigDir: path.join(dir, 'kaniko') },
          p,
          'kaniko',
          () => undefined,
          () => undefined,
        ),
      )['127.0.0.1:5001'],
    ).toBe('docker:2');
    expect(
      (
        await collectAuth(
          env,
          noInputs,
          p,
          'kaniko',
          () => undefined,
          () => undefined,
        )
      ).credentials,
    ).toEqual([]);
    expect(
      (
        await collectAuth(
          env,
          { ...noInputs, useDockerConfig: false },
          p,
          'buildah',
          () => undefined,
          () => undefined,
        )
      ).credentials,
    ).toEqual([]);
  });

  test('a credentials-variable problem names the input that named the variable (exit 2)', async () => {
    const failure = async (i: Partial<typeof noInputs>, env: Record<string, string> = {}) => {
      try {
        await collectAuth(
          env,
          { ...noInputs, useDockerConfig: false, ...i },
          p,
          'buildah',
          () => undefined,
          () => undefined,
        );
      } catch (e) {
        return e as ShiplineError;
      }
      throw new Error('expected an error');
    };
    const unset = await failure({ authConfigVariable: 'HARBOR_ROBOT_CREDS_JSON' });
    expect(unset.message).toBe("variable HARBOR_ROBOT_CREDS_JSON (named by input 'auth-config-variable') is not set");
    expect(unset.exitCode).toBe(2);
    expect(unset.hint).toMatch(/^set HARBOR_ROBOT_CREDS_JSON to a docker config JSON/);
    expect((await failure({ authConfigVariable: '{"auths":{"CANARY":1}}' })).message).toBe(
      "input 'auth-config-variable' is not a variable name (letters, digits, '_')",
    );
    expect((await failure({ gcpKeyVariable: 'K' })).message).toBe(
      "variable K (named by input 'gcp-key-variable') is not set",
    );
    const key = JSON.stringify({
      type: 'service_account',
      client_email: 'ci@p.iam.gserviceaccount.com',
      private_key: 'k',
    });
    const noRegistry = await failure({ gcpKeyVariable: 'K' }, { K: key });
    expect(noRegistry.message).toBe(
      "input 'gcp-key-variable' is set but no Google registry is known to use the key for",
    );
    expect(noRegistry.hint).toBe(
      "push to a gcr.io or <region>-docker.pkg.dev image, or list the registries in 'gcp-registries'",
    );
  });
});
