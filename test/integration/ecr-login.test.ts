// ecr-login against the bench's loopback ECR (real SDK, SigV4 checked by the endpoint) and
// the basic-auth registry behind it, through the CLI bundle: the docker config entry,
// docker push/pull with it, exact restore by --post, `docker login --password-stdin`, retries
// on 5xx, missing credentials, a down endpoint, and the ECR Public protocol.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run, runOk } from '../support/exec';
import { benchControl, describeBench } from '../support/testbed';
import { createDockerShim, expectNoLeaks, plantCanaries } from '../support/canary';
import {
  awsJobEnv,
  closedPort,
  lastSeq,
  mode,
  requestsSince,
  runCli,
  workspace,
  type Workspace,
} from '../support/assume-role-aws';

jest.setTimeout(180_000);

describeBench(['ecr', 'registry-basic', 'docker'], 'ecr-login against the loopback ECR', (bench) => {
  const spaces: Workspace[] = [];
  const images: string[] = [];
  const ws = () => {
    const w = workspace('shipline-ecr-it-');
    spaces.push(w);
    return w;
  };
  afterAll(async () => {
    spaces.forEach((w) => w.cleanup());
    for (const i of images) await run('docker', ['image', 'rm', '--force', i]);
  });
  const keys = { AWS_ACCESS_KEY_ID: bench.TB_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: bench.TB_AWS_SECRET_ACCESS_KEY };
  const secrets = { password: bench.TB_ECR_PASSWORD, awsSecret: bench.TB_AWS_SECRET_ACCESS_KEY };
  const scanRun = (w: Workspace, texts: Record<string, string>, extra: Record<string, string> = {}) =>
    expectNoLeaks({
      secrets: { ...secrets, ...extra },
      texts,
      dirs: [w.dir],
      allow: (h) => h.where.includes(`${w.dir}/docker/config.json:`) && (h.secret === 'password' || h.secret in extra),
    });

  test('config entry (0600, created) -> docker push/pull -> --post removes the file it created', async () => {
    const w = ws();
    const dockerConfig = path.join(w.dir, 'docker');
    const env = awsJobEnv(bench, { ...keys, DOCKER_CONFIG: dockerConfig });
    const r = await runCli('ecr-login', [], env, w);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`registry=${bench.TB_ECR_REGISTRY}`);
    const configFile = path.join(dockerConfig, 'config.json');
    expect(r.stdout).toContain(`docker-config=${configFile}`);
    expect(mode(configFile)).toBe('600');
    expect(JSON.parse(fs.readFileSync(configFile, 'utf8')).auths[bench.TB_ECR_REGISTRY].auth).toBe(
      Buffer.from(`AWS:${bench.TB_ECR_PASSWORD}`).toString('base64'),
    );

    const image = `${bench.TB_ECR_REGISTRY}/shipline/app:ecr-it-${crypto.randomBytes(4).toString('hex')}`;
    images.push(image);
    const dockerEnv = { ...process.env, DOCKER_CONFIG: dockerConfig };
    await runOk('docker', ['pull', '-q', bench.TB_BASE_IMAGE], { env: dockerEnv });
    await runOk('docker', ['tag', bench.TB_BASE_IMAGE, image], { env: dockerEnv });
    await runOk('docker', ['push', '-q', image], { env: dockerEnv });
    await runOk('docker', ['image', 'rm', image], { env: dockerEnv });
    await runOk('docker', ['pull', '-q', image], { env: dockerEnv });

    const post = await runCli('ecr-login', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(fs.existsSync(configFile)).toBe(false);
    // Without the entry the registry refuses a push: the login really is gone.
    const denied = await run('docker', ['push', '-q', image], { env: dockerEnv });
    expect(denied.code).not.toBe(0);
    scanRun(w, { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr });
  });

  test('an existing entry for the registry is replaced, then restored exactly; other entries untouched', async () => {
    const w = ws();
    const c = plantCanaries('stale', 'other');
    const dockerConfig = path.join(w.dir, 'docker');
    fs.mkdirSync(dockerConfig);
    const before = {
      auths: {
        [bench.TB_ECR_REGISTRY]: { auth: Buffer.from(`AWS:${c.stale}`).toString('base64') },
        'other.example.com': { auth: Buffer.from(`u:${c.other}`).toString('base64') },
      },
      HttpHeaders: { 'User-Agent': 'x' },
    };
    fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify(before), { mode: 0o600 });
    const env = awsJobEnv(bench, { ...keys, DOCKER_CONFIG: dockerConfig });
    const r = await runCli('ecr-login', [], env, w);
    expect(r.code).toBe(0);
    const post = await runCli('ecr-login', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8'))).toEqual(before);
    expect(post.stderr).toContain('restored the entries they replaced');
    scanRun(w, { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr }, c);
  });

  test('HTTP 500 twice, then success: retried under the policy', async () => {
    const w = ws();
    const seq = await lastSeq(bench.TB_ECR_URL);
    await benchControl(bench.TB_ECR_URL).fault({ kind: '500', count: 2, match: 'GetAuthorizationToken' });
    const r = await runCli(
      'ecr-login',
      [],
      awsJobEnv(bench, { ...keys, DOCKER_CONFIG: path.join(w.dir, 'docker') }),
      w,
    );
    expect(r.stderr).toMatch(/ECR GetAuthorizationToken: attempt 1 of 5 failed \(ServerException \(HTTP 500\)\)/);
    expect(r.code).toBe(0);
    expect((await requestsSince(bench.TB_ECR_URL, seq, 'GetAuthorizationToken')).map((q) => q.status)).toEqual([
      500, 500, 200,
    ]);
    scanRun(w, { stdout: r.stdout, stderr: r.stderr });
  });

  test('method docker: `docker login --password-stdin`, the password never in argv; post logs out', async () => {
    const w = ws();
    const shim = createDockerShim({ dir: path.join(w.dir, 'shim') });
    const dockerConfig = path.join(w.dir, 'docker');
    const env = shim.env(awsJobEnv(bench, { ...keys, DOCKER_CONFIG: dockerConfig }));
    const r = await runCli('ecr-login', ['--method', 'docker'], env, w);
    expect(r.code).toBe(0);
    const login = shim.records().find((x) => x.argv[0] === 'login')!;
    expect(login.argv).toEqual(['login', '--username', 'AWS', '--password-stdin', bench.TB_ECR_REGISTRY]);
    expect(
      JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8')).auths[bench.TB_ECR_REGISTRY],
    ).toBeDefined();
    const post = await runCli('ecr-login', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(shim.records().some((x) => x.argv[0] === 'logout' && x.argv[1] === bench.TB_ECR_REGISTRY)).toBe(true);
    const after = fs.existsSync(path.join(dockerConfig, 'config.json'))
      ? JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8'))
      : {};
    expect(after.auths?.[bench.TB_ECR_REGISTRY]).toBeUndefined();
    expectNoLeaks({
      secrets,
      texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr },
      argvLogs: [shim],
      dirs: [w.stateDir],
    });
  });

  test('no credentials at all: a clear error naming assume-role, no ECR request', async () => {
    const w = ws();
    const seq = await lastSeq(bench.TB_ECR_URL);
    const r = await runCli('ecr-login', [], awsJobEnv(bench, { DOCKER_CONFIG: path.join(w.dir, 'docker') }), w);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECR GetAuthorizationToken in us-east-1: no AWS credentials found/);
    expect(r.stderr).toContain('hint: run assume-role before this step');
    expect(await requestsSince(bench.TB_ECR_URL, seq)).toHaveLength(0);
  });

  test('ECR down: fails within the deadline with the reason; docker config untouched', async () => {
    const w = ws();
    const port = await closedPort();
    const r = await runCli(
      'ecr-login',
      ['--timeout-seconds', '5'],
      awsJobEnv(bench, {
        ...keys,
        DOCKER_CONFIG: path.join(w.dir, 'docker'),
        AWS_ENDPOINT_URL_ECR: `http://127.0.0.1:${port}`,
      }),
      w,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECR GetAuthorizationToken failed: .* \(gave up after \d+ attempts: connection refused/);
    expect(fs.existsSync(path.join(w.dir, 'docker', 'config.json'))).toBe(false);
    scanRun(w, { stdout: r.stdout, stderr: r.stderr });
  });

  test('registry-type public speaks the ECR Public protocol (us-east-1, its own target)', async () => {
    const w = ws();
    const seq = await lastSeq(bench.TB_ECR_URL);
    // The bench has no ECR Public: pointed at the private ECR endpoint, the call arrives with
    // ECR Public's target and a SigV4 scope for the ecr-public service, which ECR refuses.
    const r = await runCli(
      'ecr-login',
      ['--registry-type', 'public', '--region', 'eu-west-1'],
      awsJobEnv(bench, {
        ...keys,
        DOCKER_CONFIG: path.join(w.dir, 'docker'),
        AWS_ENDPOINT_URL_ECR_PUBLIC: bench.TB_ECR_URL,
      }),
      w,
    );
    expect(r.stderr).toContain('ECR Public tokens come from us-east-1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /ECR Public GetAuthorizationToken failed: SignatureDoesNotMatch: Credential should be scoped to correct service: 'ecr'/,
    );
    const seen = await requestsSince(bench.TB_ECR_URL, seq);
    expect(seen.map((q) => q.action)).toEqual(['SpencerFrontendService.GetAuthorizationToken']);
  });
});
