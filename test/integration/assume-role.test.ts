// assume-role against the bench's loopback STS and OIDC issuer, through the CLI bundle (the
// real SDK, real HTTP, real token signatures): every credential source, the one-call OIDC
// path, the failure hints, retries under injected throttling, an endpoint that is down, the
// exports and their cleanup, and a canary scan of everything each run leaves behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintIdToken } from '../endpoints/oidc';
import { benchControl, describeBench } from '../support/testbed';
import { expectNoLeaks, plantCanaries } from '../support/canary';
import {
  awsJobEnv,
  closedPort,
  lastSeq,
  mode,
  privateRole,
  readEnvFile,
  requestsSince,
  runCli,
  stsRequests,
  workspace,
  type Workspace,
} from '../support/assume-role-aws';

jest.setTimeout(120_000);

describeBench(['sts', 'oidc'], 'assume-role against the loopback STS', (bench) => {
  const spaces: Workspace[] = [];
  const ws = () => {
    const w = workspace('shipline-ar-it-');
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
  const envFileOf = (w: Workspace) => path.join(runDirOf(w), 'env');
  /**
   * An STS endpoint URL of this test alone (the bench's STS under a path nobody else uses):
   * its requests, and the faults aimed at it, are told apart from other processes' by path.
   */
  const ownSts = () => {
    const p = `/it-${crypto.randomBytes(6).toString('hex')}`;
    return { url: `${bench.TB_STS_URL}${p}`, path: p };
  };
  const ownRequests = async (seq: number, p: string, action?: string) =>
    (await requestsSince(bench.TB_STS_URL, seq, action)).filter((q) => q.path === p || q.path.startsWith(`${p}/`));
  afterAll(() =>
    spaces.forEach((w) => {
      w.cleanup();
      fs.rmSync(runDirOf(w), { recursive: true, force: true });
    }),
  );
  const github = {
    ACTIONS_ID_TOKEN_REQUEST_URL: bench.TB_GITHUB_ID_TOKEN_URL,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
  };

  /**
   * Every secret a run could leak must be absent from what it printed and wrote, but the 0600
   * files of the job's private directory (the env file, exports.json, state: docs/security.md).
   */
  const scanRun = (w: Workspace, secrets: Record<string, string>, texts: Record<string, string>, run = runDirOf(w)) =>
    expectNoLeaks({
      secrets,
      texts,
      dirs: [w.dir, run],
      allow: (h) =>
        (h.where.startsWith(`${run}/`) && h.where.endsWith('(mode 600)')) || h.where.includes('/shipline-aws-'),
    });

  test('GitLab id_token in a variable: one STS call, credentials only in the 0600 env file, --post removes them', async () => {
    const role = await privateRole(bench);
    const w = ws();
    const token = mintIdToken({ flavor: 'gitlab' });
    const env = awsJobEnv(bench, { AWS_ID_TOKEN: token });
    const r = await runCli(
      'assume-role',
      ['--role-arn', role, '--web-identity-token-variable', 'AWS_ID_TOKEN', '--session-name', 'it/gitlab run'],
      env,
      w,
    );
    expect(r.stderr).toContain('with web identity token in $AWS_ID_TOKEN');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('aws-account-id=123456789012');
    expect(r.stdout).toMatch(
      /assumed-role-arn=arn:aws:sts::123456789012:assumed-role\/shipline-ar-[0-9a-f]+\/it-gitlab-run/,
    );
    expect(await stsRequests(bench, role)).toHaveLength(1); // one call: no GetCallerIdentity

    const exported = readEnvFile(envFileOf(w));
    expect(Object.keys(exported).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_DEFAULT_REGION',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
    ]);
    expect(exported.AWS_ACCESS_KEY_ID).toMatch(/^ASIA/);
    expect(mode(envFileOf(w))).toBe('600');
    const dotenv = fs.readFileSync(w.outputFile, 'utf8');
    expect(dotenv).toContain('ASSUME_ROLE_AWS_ACCOUNT_ID=123456789012');
    const secrets = {
      token,
      key: exported.AWS_SECRET_ACCESS_KEY!,
      session: exported.AWS_SESSION_TOKEN!,
      id: exported.AWS_ACCESS_KEY_ID!,
    };
    scanRun(w, secrets, { stdout: r.stdout, stderr: r.stderr });

    const post = await runCli('assume-role', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(fs.existsSync(envFileOf(w))).toBe(false);
    scanRun(w, secrets, { stdout: post.stdout, stderr: post.stderr });
  });

  test('GitHub OIDC with a wrong audience: fails in one attempt with the claims and the provider hint', async () => {
    const w = ws();
    const own = ownSts();
    const sts = await lastSeq(bench.TB_STS_URL);
    const r = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--audience', 'wrong-aud'],
      awsJobEnv(bench, { ...github, AWS_ENDPOINT_URL_STS: own.url }),
      w,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AssumeRoleWithWebIdentity .* failed: InvalidIdentityToken: Incorrect token audience/);
    expect(r.stderr).toContain('aud: wrong-aud');
    expect(r.stderr).toContain('sub: repo:shipline/shipline:ref:refs/heads/main');
    expect(r.stderr).toMatch(/does not list the audience 'wrong-aud' as a client ID/);
    expect(await ownRequests(sts, own.path, 'AssumeRoleWithWebIdentity')).toHaveLength(1);
    expect(fs.existsSync(envFileOf(w))).toBe(false);
    scanRun(w, { request: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN }, { stdout: r.stdout, stderr: r.stderr });
  });

  test('a subject the trust policy does not admit: AccessDenied, no retry, the sub condition shown', async () => {
    const w = ws();
    const token = mintIdToken({
      flavor: 'gitlab',
      claims: { sub: 'project_path:evil/fork:ref_type:branch:ref:main', project_path: 'evil/fork' },
    });
    const r = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_MAIN_ARN, '--web-identity-token-variable', 'AWS_ID_TOKEN'],
      awsJobEnv(bench, { AWS_ID_TOKEN: token }),
      w,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity');
    expect(r.stderr).toContain('project_path: evil/fork');
    expect(r.stderr).toContain('"127.0.0.1:5012:sub": "project_path:evil/fork:ref_type:branch:ref:main"');
    expect(r.stderr).toContain('"127.0.0.1:5012:aud": "sts.amazonaws.com"');
    expect(r.stderr).not.toMatch(/retrying/);
    scanRun(w, { token }, { stdout: r.stdout, stderr: r.stderr });
  });

  test('Throttling twice, then success: three STS attempts, a fresh GitHub token for each', async () => {
    // An audience of this test alone: the GitHub token requests it makes are told apart by it.
    const audience = `sts.amazonaws.com/it-${crypto.randomBytes(6).toString('hex')}`;
    const role = await privateRole(bench, { audiences: [audience] });
    const w = ws();
    const own = ownSts();
    const sts = await lastSeq(bench.TB_STS_URL);
    const oidc = await lastSeq(bench.TB_OIDC_URL);
    await benchControl(bench.TB_STS_URL).fault({ kind: '429', count: 2, match: own.path, retryAfter: 0 });
    const r = await runCli(
      'assume-role',
      ['--role-arn', role, '--audience', audience],
      awsJobEnv(bench, { ...github, AWS_ENDPOINT_URL_STS: own.url }),
      w,
    );
    expect(r.stderr).toMatch(/attempt 1 of 5 failed \(throttled \(Throttling\)\)/);
    expect(r.stderr).toMatch(/attempt 2 of 5 failed/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('in 3 STS calls');
    const calls = await ownRequests(sts, own.path);
    expect(calls.map((c) => [c.action, c.status])).toEqual([
      ['AssumeRoleWithWebIdentity', 429],
      ['AssumeRoleWithWebIdentity', 429],
      ['AssumeRoleWithWebIdentity', 200],
    ]);
    const tokens = (await requestsSince(bench.TB_OIDC_URL, oidc, '/token')).filter(
      (t) => t.details?.audience === audience,
    );
    expect(tokens).toHaveLength(3);
    const exported = readEnvFile(envFileOf(w));
    scanRun(
      w,
      {
        request: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
        key: exported.AWS_SECRET_ACCESS_KEY!,
        session: exported.AWS_SESSION_TOKEN!,
      },
      { stdout: r.stdout, stderr: r.stderr },
    );
  });

  test('one policy: retry-max-attempts 1 means one request on both paths (the SDK never retries on its own); shipline in the User-Agent', async () => {
    const w = ws();
    const token = mintIdToken({ flavor: 'gitlab' });
    const keys = {
      SHIPLINE_INPUT_AWS_ACCESS_KEY_ID: bench.TB_AWS_ACCESS_KEY_ID,
      SHIPLINE_INPUT_AWS_SECRET_ACCESS_KEY: bench.TB_AWS_SECRET_ACCESS_KEY,
    };
    const cases = [
      {
        action: 'AssumeRoleWithWebIdentity',
        args: ['--web-identity-token-variable', 'AWS_ID_TOKEN'],
        env: { AWS_ID_TOKEN: token },
      },
      { action: 'AssumeRole', args: [], env: keys },
    ];
    const texts: Record<string, string> = {};
    for (const c of cases) {
      // Faults at a path of this case alone: the two left over hit nobody else's requests.
      const own = ownSts();
      const sts = await lastSeq(bench.TB_STS_URL);
      await benchControl(bench.TB_STS_URL).fault({ kind: '500', count: 3, match: own.path });
      const r = await runCli(
        'assume-role',
        ['--role-arn', bench.TB_STS_ROLE_ARN, '--retry-max-attempts', '1', ...c.args],
        awsJobEnv(bench, { ...c.env, AWS_ENDPOINT_URL_STS: own.url }),
        w,
      );
      texts[c.action] = r.stdout + r.stderr;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/failed: .* \(gave up after 1 attempt: InternalFailure \(HTTP 500\)\)/);
      expect((await ownRequests(sts, own.path)).map((q) => q.action)).toEqual([c.action]);
    }

    // A loopback listener in place of STS records what each client sends.
    const http = await import('node:http');
    const agents: string[] = [];
    const server = http.createServer((req, res) => {
      agents.push(String(req.headers['user-agent'] ?? ''));
      res
        .writeHead(400, { 'content-type': 'text/xml' })
        .end('<ErrorResponse><Error><Code>ValidationError</Code><Message>recorded</Message></Error></ErrorResponse>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    for (const c of cases) {
      const rec = await runCli(
        'assume-role',
        ['--role-arn', bench.TB_STS_ROLE_ARN, ...c.args],
        awsJobEnv(bench, { ...c.env, AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}` }),
        w,
      );
      expect(rec.stderr).toContain('ValidationError: recorded');
      texts[`${c.action} recorded`] = rec.stdout + rec.stderr;
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(agents).toHaveLength(2);
    for (const a of agents) expect(a).toMatch(/\bshipline\/assume-role\b/);
    scanRun(w, { token, static: bench.TB_AWS_SECRET_ACCESS_KEY }, texts);
  });

  test('STS down: fails within the deadline, naming the endpoint problem and the attempts', async () => {
    const w = ws();
    const port = await closedPort();
    const token = mintIdToken({ flavor: 'gitlab' });
    const started = Date.now();
    const r = await runCli(
      'assume-role',
      [
        '--role-arn',
        bench.TB_STS_ROLE_ARN,
        '--web-identity-token-variable',
        'AWS_ID_TOKEN',
        '--timeout-seconds',
        '5',
        '--retry-max-attempts',
        '20',
      ],
      awsJobEnv(bench, { AWS_ID_TOKEN: token, AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}` }),
      w,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(r.code).toBe(1);
    const m =
      /AssumeRoleWithWebIdentity .* failed: .+ \(gave up after (\d+) attempts: connection refused; the 5 s deadline would pass\)/.exec(
        r.stderr,
      );
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1);
    expect(seconds).toBeLessThanOrEqual(5 + 3); // the deadline, and the CLI's start and exit
    expect(r.stderr).toContain(`hint: check that STS (http://127.0.0.1:${port}) is reachable`);
    scanRun(w, { token }, { stdout: r.stdout, stderr: r.stderr });
  });

  test('static keys + external ID, then role chaining from the exported credentials', async () => {
    const secrets = plantCanaries('sessiontag');
    const w = ws();
    const keys = {
      SHIPLINE_INPUT_AWS_ACCESS_KEY_ID: bench.TB_AWS_ACCESS_KEY_ID,
      SHIPLINE_INPUT_AWS_SECRET_ACCESS_KEY: bench.TB_AWS_SECRET_ACCESS_KEY,
    };
    const wrong = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_EXTERNAL_ARN, '--external-id', 'not-it'],
      awsJobEnv(bench, keys),
      w,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /AssumeRole .* failed: AccessDenied: User: arn:aws:iam::123456789012:user\/shipline-test is not authorized/,
    );
    expect(wrong.stderr).toMatch(/hint: .*external-id/);

    const first = await runCli(
      'assume-role',
      [
        '--role-arn',
        bench.TB_STS_ROLE_EXTERNAL_ARN,
        '--external-id',
        bench.TB_STS_EXTERNAL_ID,
        '--session-tags',
        `Team=infra`,
      ],
      awsJobEnv(bench, keys),
      w,
    );
    expect(first.stderr).toContain('static access keys from the inputs');
    expect(first.code).toBe(0);
    const creds = readEnvFile(envFileOf(w));

    const chained = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--role-chaining'],
      awsJobEnv(bench, {
        AWS_ACCESS_KEY_ID: creds.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: creds.AWS_SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN: creds.AWS_SESSION_TOKEN,
        SHIPLINE_INPUT_SESSION_TAGS: undefined,
      }),
      w,
    );
    expect(chained.stderr).toContain('the credentials already in the job (role chaining)');
    expect(chained.code).toBe(0);
    expect(chained.stdout).toContain('assumed-role-arn=arn:aws:sts::123456789012:assumed-role/shipline-ci/');
    const after = readEnvFile(envFileOf(w));
    expect(after.AWS_ACCESS_KEY_ID).not.toBe(creds.AWS_ACCESS_KEY_ID);
    scanRun(
      w,
      {
        ...secrets,
        static: bench.TB_AWS_SECRET_ACCESS_KEY,
        k1: creds.AWS_SECRET_ACCESS_KEY!,
        k2: after.AWS_SECRET_ACCESS_KEY!,
      },
      {
        wrong: wrong.stdout + wrong.stderr,
        first: first.stdout + first.stderr,
        chained: chained.stdout + chained.stderr,
      },
    );
  });

  test('export-token-file: a 0600 token file and AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN instead of keys; --post deletes it', async () => {
    const role = await privateRole(bench);
    const w = ws();
    const token = mintIdToken({ flavor: 'gitlab' });
    const env = awsJobEnv(bench, { AWS_ID_TOKEN: token });
    const r = await runCli(
      'assume-role',
      ['--role-arn', role, '--web-identity-token-variable', 'AWS_ID_TOKEN', '--export-token-file'],
      env,
      w,
    );
    expect(r.code).toBe(0);
    const exported = readEnvFile(envFileOf(w));
    expect(exported.AWS_ACCESS_KEY_ID).toBeUndefined();
    expect(exported.AWS_ROLE_ARN).toBe(role);
    const file = exported.AWS_WEB_IDENTITY_TOKEN_FILE!;
    expect(fs.readFileSync(file, 'utf8')).toBe(token);
    expect(mode(file)).toBe('600');
    expect(mode(path.dirname(file))).toBe('700');
    // An SDK in a later step gets credentials from the exported file + role by itself.
    const sdk = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--role-chaining', '--export', 'none'],
      awsJobEnv(bench, {
        AWS_WEB_IDENTITY_TOKEN_FILE: file,
        AWS_ROLE_ARN: role,
        AWS_ROLE_SESSION_NAME: exported.AWS_ROLE_SESSION_NAME,
      }),
      w,
    );
    expect(sdk.stderr).toContain('assumed arn:aws:sts::123456789012:assumed-role/shipline-ci/');
    expect(sdk.code).toBe(0);
    const post = await runCli('assume-role', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(envFileOf(w))).toBe(false);
    scanRun(w, { token }, { stdout: r.stdout + post.stdout + sdk.stdout, stderr: r.stderr + post.stderr + sdk.stderr });
  });

  test('export: file writes a 0600 shared credentials file the SDK can use', async () => {
    const role = await privateRole(bench);
    const w = ws();
    const token = mintIdToken({ flavor: 'gitlab' });
    const env = awsJobEnv(bench, { AWS_ID_TOKEN: token });
    const r = await runCli(
      'assume-role',
      ['--role-arn', role, '--web-identity-token-variable', 'AWS_ID_TOKEN', '--export', 'file'],
      env,
      w,
    );
    expect(r.code).toBe(0);
    const exported = readEnvFile(envFileOf(w));
    expect(exported.AWS_PROFILE).toBe('shipline');
    const file = exported.AWS_SHARED_CREDENTIALS_FILE!;
    expect(mode(file)).toBe('600');
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^\[shipline\]\naws_access_key_id = ASIA/);
    // The SDK's default chain finds the session through the exported file + profile.
    const chained = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--role-chaining', '--export', 'none'],
      awsJobEnv(bench, { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'shipline' }),
      w,
    );
    expect(chained.stderr).toContain('assumed arn:aws:sts::123456789012:assumed-role/shipline-ci/');
    expect(chained.code).toBe(0);
    const post = await runCli('assume-role', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('web-identity-token input (from SHIPLINE_INPUT_*, never argv) and the GitLab runtime: secrets only in the env file', async () => {
    const role = await privateRole(bench);
    const w = ws();
    const token = mintIdToken({ flavor: 'gitlab' });
    // As the template sets it: a fresh private directory of this job, outside the checkout.
    const run = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-ar-it-run-')), 'run');
    spaces.push({ ...w, cleanup: () => fs.rmSync(path.dirname(run), { recursive: true, force: true }) });
    const env = awsJobEnv(bench, {
      SHIPLINE_INPUT_WEB_IDENTITY_TOKEN: token,
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: w.dir,
      CI_JOB_ID: '777',
      SHIPLINE_RUN_DIR: run,
      CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
      SHIPLINE_INPUT_OUTPUT_CREDENTIALS: 'true',
    });
    const r = await runCli('assume-role', ['--role-arn', role], env, w);
    expect(r.stderr).toContain('with web identity token from the input');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/assumed-role-arn=.*\/shipline-gitlab-777$/m);
    expect(r.stdout).not.toMatch(/aws-secret-access-key=/); // secret outputs: env file only
    const exported = readEnvFile(path.join(run, 'env'));
    expect(exported.ASSUME_ROLE_AWS_SECRET_ACCESS_KEY).toBe(exported.AWS_SECRET_ACCESS_KEY);
    expect(fs.readFileSync(w.outputFile, 'utf8')).not.toMatch(/SECRET|SESSION_TOKEN|ACCESS_KEY/);
    scanRun(
      w,
      { token, key: exported.AWS_SECRET_ACCESS_KEY!, session: exported.AWS_SESSION_TOKEN! },
      { stdout: r.stdout, stderr: r.stderr },
      run,
    );
    const post = await runCli('assume-role', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(fs.existsSync(path.join(run, 'env'))).toBe(false);
  });

  test('a token file that is a symlink is refused before any STS call', async () => {
    const w = ws();
    const real = path.join(w.dir, 'token');
    fs.writeFileSync(real, mintIdToken({ flavor: 'gitlab' }), { mode: 0o600 });
    fs.symlinkSync(real, path.join(w.dir, 'link'));
    const own = ownSts();
    const sts = await lastSeq(bench.TB_STS_URL);
    const r = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--web-identity-token-file', path.join(w.dir, 'link')],
      awsJobEnv(bench, { AWS_ENDPOINT_URL_STS: own.url }),
      w,
    );
    expect(r.code).toBe(2); // what the input names is unusable: the input's error (issue 15)
    expect(r.stderr).toMatch(/input 'web-identity-token-file': web identity token file .* is a symbolic link/);
    expect(await ownRequests(sts, own.path)).toHaveLength(0);
    const ok = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--web-identity-token-file', real],
      awsJobEnv(bench),
      w,
    );
    expect(ok.code).toBe(0);
  });

  describe('ambient credentials (no credential input), each source signed and checked by the endpoint', () => {
    const loadedSdk = (stderr: string) => /load "[^"]*dist\/assume-role\/aws-sdk\.js"/.test(stderr);
    const args = (role: string) => ['--role-arn', role, '--export', 'none'];
    /** Session credentials of a role of this test alone, from its own workspace. */
    async function session() {
      const w = ws();
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
      return readEnvFile(envFileOf(w));
    }

    test('env keys: one signed AssumeRole, the SDK never loaded', async () => {
      const w = ws();
      const role = await privateRole(bench, { assumeRole: true });
      const r = await runCli(
        'assume-role',
        args(role),
        awsJobEnv(bench, {
          HOME: w.home,
          AWS_ACCESS_KEY_ID: bench.TB_AWS_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: bench.TB_AWS_SECRET_ACCESS_KEY,
          NODE_DEBUG: 'module',
        }),
        w,
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('the AWS SDK default credential chain');
      expect(loadedSdk(r.stderr)).toBe(false);
      const calls = await stsRequests(bench, role);
      expect(calls.map((q) => [q.action, q.status, q.details?.accessKeyId])).toEqual([
        ['AssumeRole', 200, bench.TB_AWS_ACCESS_KEY_ID],
      ]);
    });

    test('token file (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): the unsigned call, then AssumeRole signed with its session', async () => {
      const w = ws();
      const base = await privateRole(bench);
      const target = await privateRole(bench, { assumeRole: true });
      const token = mintIdToken({ flavor: 'gitlab', audience: 'sts.amazonaws.com', ttlSeconds: 600 });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-ar-token-'));
      spaces.push({ ...w, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });
      const file = path.join(dir, 'token');
      fs.writeFileSync(file, token, { mode: 0o600 });
      const r = await runCli(
        'assume-role',
        args(target),
        awsJobEnv(bench, {
          HOME: w.home,
          AWS_WEB_IDENTITY_TOKEN_FILE: file,
          AWS_ROLE_ARN: base,
          NODE_DEBUG: 'module',
        }),
        w,
      );
      expect(r.code).toBe(0);
      expect(loadedSdk(r.stderr)).toBe(false);
      expect((await stsRequests(bench, base)).map((q) => [q.action, q.status])).toEqual([
        ['AssumeRoleWithWebIdentity', 200],
      ]);
      const assumed = await stsRequests(bench, target);
      expect(assumed.map((q) => [q.action, q.status])).toEqual([['AssumeRole', 200]]);
      expect(String(assumed[0]!.details?.accessKeyId)).toMatch(/^ASIA/);
    });

    test('the SDK chain when neither is set: a shared credentials file profile, through dist/assume-role/aws-sdk.js', async () => {
      const w = ws();
      const creds = await session();
      const role = await privateRole(bench, { assumeRole: true });
      const file = path.join(w.home, 'aws-credentials');
      fs.writeFileSync(
        file,
        `[ar-it]\naws_access_key_id = ${creds.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${creds.AWS_SECRET_ACCESS_KEY}\naws_session_token = ${creds.AWS_SESSION_TOKEN}\n`,
        { mode: 0o600 },
      );
      const r = await runCli(
        'assume-role',
        args(role),
        awsJobEnv(bench, {
          HOME: w.home,
          AWS_SHARED_CREDENTIALS_FILE: file,
          AWS_CONFIG_FILE: path.join(w.home, 'no-config'),
          AWS_PROFILE: 'ar-it',
          NODE_DEBUG: 'module',
        }),
        w,
      );
      expect(r.code).toBe(0);
      expect(loadedSdk(r.stderr)).toBe(true);
      expect((await stsRequests(bench, role)).map((q) => [q.action, q.status, q.details?.accessKeyId])).toEqual([
        ['AssumeRole', 200, creds.AWS_ACCESS_KEY_ID],
      ]);
    });
  });
});
