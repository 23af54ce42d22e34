// assume-role against the bench's loopback STS and OIDC issuer, through the CLI bundle (the
// real SDK, real HTTP, real token signatures): every credential source, the one-call OIDC
// path, the failure hints, retries under injected throttling, an endpoint that is down, the
// exports and their cleanup, and a canary scan of everything each run leaves behind.
import fs from 'node:fs';
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
  afterAll(() => spaces.forEach((w) => w.cleanup()));
  const github = {
    ACTIONS_ID_TOKEN_REQUEST_URL: bench.TB_GITHUB_ID_TOKEN_URL,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
  };

  /** Every secret a run could leak must be absent from what it printed and wrote (but the 0600 env file). */
  const scanRun = (w: Workspace, secrets: Record<string, string>, texts: Record<string, string>) =>
    expectNoLeaks({
      secrets,
      texts,
      dirs: [w.dir],
      allow: (h) => h.where.startsWith(`${w.envFile}:`) || h.where.includes('/shipline-aws-'),
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

    const exported = readEnvFile(w.envFile);
    expect(Object.keys(exported).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_DEFAULT_REGION',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
    ]);
    expect(exported.AWS_ACCESS_KEY_ID).toMatch(/^ASIA/);
    expect(mode(w.envFile)).toBe('600');
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
    expect(fs.existsSync(w.envFile)).toBe(false);
    scanRun(w, secrets, { stdout: post.stdout, stderr: post.stderr });
  });

  test('GitHub OIDC with a wrong audience: fails in one attempt with the claims and the provider hint', async () => {
    const w = ws();
    const sts = await lastSeq(bench.TB_STS_URL);
    const r = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--audience', 'wrong-aud'],
      awsJobEnv(bench, github),
      w,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AssumeRoleWithWebIdentity .* failed: InvalidIdentityToken: Incorrect token audience/);
    expect(r.stderr).toContain('aud: wrong-aud');
    expect(r.stderr).toContain('sub: repo:shipline/shipline:ref:refs/heads/main');
    expect(r.stderr).toMatch(/does not list the audience 'wrong-aud' as a client ID/);
    expect(await requestsSince(bench.TB_STS_URL, sts, 'AssumeRoleWithWebIdentity')).toHaveLength(1);
    expect(fs.existsSync(w.envFile)).toBe(false);
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
    const role = await privateRole(bench);
    const w = ws();
    const sts = await lastSeq(bench.TB_STS_URL);
    const oidc = await lastSeq(bench.TB_OIDC_URL);
    await benchControl(bench.TB_STS_URL).fault({
      kind: '429',
      count: 2,
      match: 'AssumeRoleWithWebIdentity',
      retryAfter: 0,
    });
    const r = await runCli('assume-role', ['--role-arn', role], awsJobEnv(bench, github), w);
    expect(r.stderr).toMatch(/attempt 1 of 5 failed \(throttled \(Throttling\)\)/);
    expect(r.stderr).toMatch(/attempt 2 of 5 failed/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('in 3 STS calls');
    const calls = await requestsSince(bench.TB_STS_URL, sts, 'AssumeRoleWithWebIdentity');
    expect(calls.map((c) => c.status)).toEqual([429, 429, 200]);
    const tokens = await requestsSince(bench.TB_OIDC_URL, oidc, '/token');
    expect(tokens).toHaveLength(3);
    expect(tokens.every((t) => t.details?.audience === 'sts.amazonaws.com')).toBe(true);
    const exported = readEnvFile(w.envFile);
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
      const sts = await lastSeq(bench.TB_STS_URL);
      await benchControl(bench.TB_STS_URL).fault({ kind: '500', count: 3, match: c.action });
      const r = await runCli(
        'assume-role',
        ['--role-arn', bench.TB_STS_ROLE_ARN, '--retry-max-attempts', '1', ...c.args],
        awsJobEnv(bench, c.env),
        w,
      );
      await benchControl(bench.TB_STS_URL).clearFaults();
      texts[c.action] = r.stdout + r.stderr;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/failed: .* \(gave up after 1 attempt: InternalFailure \(HTTP 500\)\)/);
      expect((await requestsSince(bench.TB_STS_URL, sts)).filter((q) => q.action === c.action)).toHaveLength(1);
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
    const creds = readEnvFile(w.envFile);

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
    const after = readEnvFile(w.envFile);
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
    const env = awsJobEnv(bench, { AWS_ID_TOKEN: token, TMPDIR: w.dir });
    const r = await runCli(
      'assume-role',
      ['--role-arn', role, '--web-identity-token-variable', 'AWS_ID_TOKEN', '--export-token-file'],
      env,
      w,
    );
    expect(r.code).toBe(0);
    const exported = readEnvFile(w.envFile);
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
    expect(fs.existsSync(w.envFile)).toBe(false);
    scanRun(w, { token }, { stdout: r.stdout + post.stdout + sdk.stdout, stderr: r.stderr + post.stderr + sdk.stderr });
  });

  test('export: file writes a 0600 shared credentials file the SDK can use', async () => {
    const role = await privateRole(bench);
    const w = ws();
    const token = mintIdToken({ flavor: 'gitlab' });
    const env = awsJobEnv(bench, { AWS_ID_TOKEN: token, TMPDIR: w.dir });
    const r = await runCli(
      'assume-role',
      ['--role-arn', role, '--web-identity-token-variable', 'AWS_ID_TOKEN', '--export', 'file'],
      env,
      w,
    );
    expect(r.code).toBe(0);
    const exported = readEnvFile(w.envFile);
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
    const env = awsJobEnv(bench, {
      SHIPLINE_INPUT_WEB_IDENTITY_TOKEN: token,
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: w.dir,
      CI_JOB_ID: '777',
      CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
      SHIPLINE_INPUT_OUTPUT_CREDENTIALS: 'true',
    });
    const r = await runCli('assume-role', ['--role-arn', role], env, w);
    expect(r.stderr).toContain('with web identity token from the input');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/assumed-role-arn=.*\/shipline-gitlab-777$/m);
    expect(r.stdout).not.toMatch(/aws-secret-access-key=/); // secret outputs: env file only
    const exported = readEnvFile(w.envFile);
    expect(exported.ASSUME_ROLE_AWS_SECRET_ACCESS_KEY).toBe(exported.AWS_SECRET_ACCESS_KEY);
    expect(fs.readFileSync(w.outputFile, 'utf8')).not.toMatch(/SECRET|SESSION_TOKEN|ACCESS_KEY/);
    scanRun(
      w,
      { token, key: exported.AWS_SECRET_ACCESS_KEY!, session: exported.AWS_SESSION_TOKEN! },
      { stdout: r.stdout, stderr: r.stderr },
    );
    const post = await runCli('assume-role', ['--post'], env, w);
    expect(post.code).toBe(0);
    expect(fs.existsSync(w.envFile)).toBe(false);
  });

  test('a token file that is a symlink is refused before any STS call', async () => {
    const w = ws();
    const real = path.join(w.dir, 'token');
    fs.writeFileSync(real, mintIdToken({ flavor: 'gitlab' }), { mode: 0o600 });
    fs.symlinkSync(real, path.join(w.dir, 'link'));
    const sts = await lastSeq(bench.TB_STS_URL);
    const r = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--web-identity-token-file', path.join(w.dir, 'link')],
      awsJobEnv(bench),
      w,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is a symbolic link/);
    expect(await requestsSince(bench.TB_STS_URL, sts, 'AssumeRoleWithWebIdentity')).toHaveLength(0);
    const ok = await runCli(
      'assume-role',
      ['--role-arn', bench.TB_STS_ROLE_ARN, '--web-identity-token-file', real],
      awsJobEnv(bench),
      w,
    );
    expect(ok.code).toBe(0);
  });
});
