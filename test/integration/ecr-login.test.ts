// ecr-login against the bench's loopback ECR (SigV4 checked by the endpoint) and the
// basic-auth registry behind it, through the CLI bundle: the docker config entry, docker
// push/pull with it, exact restore by --post, `docker login --password-stdin`, retries on
// 5xx, missing credentials, a down endpoint, the ECR Public protocol, and every source of
// the job's credentials (env keys, session token, token file, the SDK chain's profile).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, runOk } from '../support/exec';
import { benchControl, describeBench } from '../support/testbed';
import { createDockerShim, expectNoLeaks, plantCanaries } from '../support/canary';
import {
  awsJobEnv,
  closedPort,
  lastSeq,
  mode,
  privateRole,
  readEnvFile,
  requestsSince,
  stsRequests,
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
  const realOr = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p; // already removed: its name keys the directory, as in the runtime
    }
  };
  /** The CLI's default private run directory of a workspace (docs/security.md): state and the env file. */
  const runDirOf = (w: Workspace) =>
    path.join(
      os.tmpdir(),
      `shipline-${process.getuid?.() ?? 'user'}`,
      crypto.createHash('sha256').update(realOr(w.dir)).digest('hex').slice(0, 12),
    );
  /**
   * An ECR endpoint URL of this test alone (the bench's ECR under a path nobody else uses):
   * its requests, and the faults aimed at it, are told apart from other processes' by path.
   */
  const ownEcr = () => {
    const p = `/it-${crypto.randomBytes(6).toString('hex')}`;
    return { url: `${bench.TB_ECR_URL}${p}`, path: p };
  };
  const ownRequests = async (seq: number, p: string, action?: string) =>
    (await requestsSince(bench.TB_ECR_URL, seq, action)).filter((q) => q.path === p || q.path.startsWith(`${p}/`));
  afterAll(async () => {
    spaces.forEach((w) => {
      w.cleanup();
      fs.rmSync(runDirOf(w), { recursive: true, force: true });
    });
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
    const own = ownEcr();
    const seq = await lastSeq(bench.TB_ECR_URL);
    await benchControl(bench.TB_ECR_URL).fault({ kind: '500', count: 2, match: own.path });
    const r = await runCli(
      'ecr-login',
      [],
      awsJobEnv(bench, { ...keys, DOCKER_CONFIG: path.join(w.dir, 'docker'), AWS_ENDPOINT_URL_ECR: own.url }),
      w,
    );
    expect(r.stderr).toMatch(/ECR GetAuthorizationToken: attempt 1 of 5 failed \(ServerException \(HTTP 500\)\)/);
    expect(r.code).toBe(0);
    expect((await ownRequests(seq, own.path, 'GetAuthorizationToken')).map((q) => q.status)).toEqual([500, 500, 200]);
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
    // `--` ends the options: a registry name is never taken for a flag.
    expect(
      shim
        .records()
        .filter((x) => x.argv[0] === 'logout')
        .map((x) => x.argv),
    ).toEqual([['logout', '--', bench.TB_ECR_REGISTRY]]);
    const after = fs.existsSync(path.join(dockerConfig, 'config.json'))
      ? JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8'))
      : {};
    expect(after.auths?.[bench.TB_ECR_REGISTRY]).toBeUndefined();
    expectNoLeaks({
      secrets,
      texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr },
      argvLogs: [shim],
      dirs: [runDirOf(w)],
    });
  });

  test('no credentials at all: a clear error naming assume-role, no ECR request', async () => {
    const w = ws();
    const own = ownEcr();
    const seq = await lastSeq(bench.TB_ECR_URL);
    const r = await runCli(
      'ecr-login',
      [],
      awsJobEnv(bench, { DOCKER_CONFIG: path.join(w.dir, 'docker'), AWS_ENDPOINT_URL_ECR: own.url }),
      w,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECR GetAuthorizationToken in us-east-1: no AWS credentials found/);
    expect(r.stderr).toContain('hint: run assume-role before this step');
    expect(await ownRequests(seq, own.path)).toHaveLength(0);
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
    const own = ownEcr();
    const seq = await lastSeq(bench.TB_ECR_URL);
    // The bench has no ECR Public: pointed at the private ECR endpoint, the call arrives with
    // ECR Public's target and a SigV4 scope for the ecr-public service, which ECR refuses.
    const r = await runCli(
      'ecr-login',
      ['--registry-type', 'public', '--region', 'eu-west-1'],
      awsJobEnv(bench, {
        ...keys,
        DOCKER_CONFIG: path.join(w.dir, 'docker'),
        AWS_ENDPOINT_URL_ECR_PUBLIC: own.url,
      }),
      w,
    );
    expect(r.stderr).toContain('ECR Public tokens come from us-east-1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /ECR Public GetAuthorizationToken failed: SignatureDoesNotMatch: Credential should be scoped to correct service: 'ecr'/,
    );
    const seen = await ownRequests(seq, own.path);
    expect(seen.map((q) => q.action)).toEqual(['SpencerFrontendService.GetAuthorizationToken']);
  });

  describe('the job credentials, each source signed and checked by the endpoint', () => {
    /** Module loads of the run (NODE_DEBUG=module): whether the SDK's chain bundle was parsed. */
    const loadedSdk = (stderr: string) => /load "[^"]*dist\/ecr-login\/aws-sdk\.js"/.test(stderr);
    /** Session credentials of a role of this test alone (AssumeRole with the bench key). */
    async function session(w: Workspace) {
      const role = await privateRole(bench, { assumeRole: true });
      const r = await runCli(
        'assume-role',
        ['--role-arn', role],
        awsJobEnv(bench, {
          SHIPLINE_INPUT_AWS_ACCESS_KEY_ID: bench.TB_AWS_ACCESS_KEY_ID,
          SHIPLINE_INPUT_AWS_SECRET_ACCESS_KEY: bench.TB_AWS_SECRET_ACCESS_KEY,
        }),
        w,
      );
      expect(r.code).toBe(0);
      return readEnvFile(path.join(runDirOf(w), 'env'));
    }
    const ecrCalls = async (seq: number, accessKeyId: string) =>
      (await requestsSince(bench.TB_ECR_URL, seq)).filter((q) => q.details?.accessKeyId === accessKeyId);

    test('env keys: one GetAuthorizationToken, signed without the SDK or node:crypto', async () => {
      const w = ws();
      const r = await runCli(
        'ecr-login',
        [],
        awsJobEnv(bench, { ...keys, HOME: w.home, DOCKER_CONFIG: path.join(w.dir, 'docker'), NODE_DEBUG: 'module' }),
        w,
      );
      expect(r.code).toBe(0);
      expect(loadedSdk(r.stderr)).toBe(false);
      expect(r.stderr).toMatch(/load "[^"]*dist\/ecr-login\/main\.js"/);
      // aws4's hashes come from src/lib/aws/sha256.ts in the bundle (the endpoint checked them)
      expect(r.stderr).not.toMatch(/load built-in module (node:)?crypto\b/);
    });

    test('session token: signed with it (the endpoint checks it); a wrong one is refused and explained', async () => {
      const w = ws();
      const creds = await session(ws()); // its own workspace: the 0600 env file holds the keys
      const seq = await lastSeq(bench.TB_ECR_URL);
      const env = {
        HOME: w.home,
        AWS_ACCESS_KEY_ID: creds.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: creds.AWS_SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN: creds.AWS_SESSION_TOKEN,
        DOCKER_CONFIG: path.join(w.dir, 'docker'),
        SHIPLINE_INPUT_LOGOUT: 'false',
      };
      const r = await runCli('ecr-login', [], awsJobEnv(bench, env), w);
      expect(r.stderr).not.toContain('error:');
      expect(r.code).toBe(0);
      const calls = await ecrCalls(seq, creds.AWS_ACCESS_KEY_ID!);
      expect(calls.map((q) => [q.action, q.status])).toEqual([['GetAuthorizationToken', 200]]);

      const bad = await runCli('ecr-login', [], awsJobEnv(bench, { ...env, AWS_SESSION_TOKEN: 'not-the-token' }), w);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        /ECR GetAuthorizationToken in us-east-1 failed: UnrecognizedClientException: The security token included in the request is invalid/,
      );
      expect(bad.stderr).toContain('hint: the AWS credentials in the job are invalid or expired');
      // The refused request is logged without a key (the endpoint names only verified callers).
      expect(await ecrCalls(seq, creds.AWS_ACCESS_KEY_ID!)).toHaveLength(1);
      scanRun(
        w,
        { stdout: r.stdout + bad.stdout, stderr: r.stderr + bad.stderr },
        {
          sessionSecret: creds.AWS_SECRET_ACCESS_KEY!,
          sessionToken: creds.AWS_SESSION_TOKEN!,
        },
      );
    });

    test('token file (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): one unsigned STS call, then one signed ECR call', async () => {
      const w = ws();
      const role = await privateRole(bench);
      const minted = (await (
        await fetch(`${bench.TB_OIDC_URL}/__mint`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ flavor: 'gitlab', audience: 'sts.amazonaws.com', ttlSeconds: 600 }),
        })
      ).json()) as { token: string };
      // Outside the workspace, whose every file the canary scan reads: the token is meant to be here.
      const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-ecr-token-'));
      spaces.push({ ...w, cleanup: () => fs.rmSync(tokenDir, { recursive: true, force: true }) });
      const file = path.join(tokenDir, 'token');
      fs.writeFileSync(file, minted.token, { mode: 0o600 });
      const own = ownEcr();
      const seq = await lastSeq(bench.TB_ECR_URL);
      const r = await runCli(
        'ecr-login',
        [],
        awsJobEnv(bench, {
          HOME: w.home,
          AWS_WEB_IDENTITY_TOKEN_FILE: file,
          AWS_ROLE_ARN: role,
          AWS_ENDPOINT_URL_ECR: own.url,
          DOCKER_CONFIG: path.join(w.dir, 'docker'),
          SHIPLINE_INPUT_LOGOUT: 'false',
          NODE_DEBUG: 'module',
        }),
        w,
      );
      expect(r.code).toBe(0);
      expect(loadedSdk(r.stderr)).toBe(false);
      const sts = await stsRequests(bench, role);
      expect(sts.map((q) => [q.action, q.status])).toEqual([['AssumeRoleWithWebIdentity', 200]]);
      // Signed with the session's key (ASIA…), which STS issued for this role.
      const ecr = await ownRequests(seq, own.path);
      expect(ecr.map((q) => [q.action, q.status])).toEqual([['GetAuthorizationToken', 200]]);
      expect(String(ecr[0]!.details?.accessKeyId)).toMatch(/^ASIA/);
      scanRun(w, { stdout: r.stdout, stderr: r.stderr }, { token: minted.token });
    });

    test('the SDK chain when neither is set: a shared credentials file profile, through dist/ecr-login/aws-sdk.js', async () => {
      const w = ws();
      const creds = await session(ws()); // its own workspace: the 0600 env file holds the keys
      const file = path.join(w.dir, 'aws-credentials');
      fs.writeFileSync(
        file,
        `[ecr-it]\naws_access_key_id = ${creds.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${creds.AWS_SECRET_ACCESS_KEY}\naws_session_token = ${creds.AWS_SESSION_TOKEN}\n`,
        { mode: 0o600 },
      );
      const seq = await lastSeq(bench.TB_ECR_URL);
      const r = await runCli(
        'ecr-login',
        [],
        awsJobEnv(bench, {
          HOME: w.home,
          AWS_SHARED_CREDENTIALS_FILE: file,
          AWS_CONFIG_FILE: path.join(w.dir, 'no-config'),
          AWS_PROFILE: 'ecr-it',
          DOCKER_CONFIG: path.join(w.dir, 'docker'),
          SHIPLINE_INPUT_LOGOUT: 'false',
          NODE_DEBUG: 'module',
        }),
        w,
      );
      expect(r.code).toBe(0);
      expect(loadedSdk(r.stderr)).toBe(true);
      const calls = await ecrCalls(seq, creds.AWS_ACCESS_KEY_ID!);
      expect(calls.map((q) => [q.action, q.status])).toEqual([['GetAuthorizationToken', 200]]);
    });
  });
});
