// The assume-role and ecr-login bundles run as GitHub's runner runs them (INPUT_*, file
// commands, main, later steps with the exported env, posts in reverse order with saved
// state), on Node 24 like `using: node24`: GitHub OIDC -> assume-role -> ecr-login -> docker
// push to the registry behind the loopback ECR -> pull back -> posts restore everything.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, runOk } from '../support/exec';
import { runGithubAction, type GithubRunResult } from '../support/github';
import { requireNode24 } from '../support/node24';
import { describeBench } from '../support/testbed';
import { expectNoLeaks, plantCanaries } from '../support/canary';
import { awsJobEnv, lastSeq, privateRole, requestsSince, stsRequests } from '../support/assume-role-aws';

jest.setTimeout(240_000);

describeBench(
  ['aws', 'docker', 'registry-basic', 'node24'],
  'assume-role + ecr-login on GitHub (bundles as the runner runs them)',
  (bench) => {
    const node = requireNode24(true)!;
    const results: GithubRunResult[] = [];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-ar-gh-'));
    const image = `${bench.TB_ECR_REGISTRY}/shipline/app:ar-gh-${crypto.randomBytes(4).toString('hex')}`;
    afterAll(async () => {
      results.forEach((r) => r.cleanup());
      fs.rmSync(tmp, { recursive: true, force: true });
      await run('docker', ['image', 'rm', '--force', image]);
    });
    const github = {
      ACTIONS_ID_TOKEN_REQUEST_URL: bench.TB_GITHUB_ID_TOKEN_URL,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
    };
    /** The runner's env for a job: nothing AWS/CI inherited, loopback endpoints only. */
    const unset = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_DEFAULT_REGION: undefined,
      DOCKER_CONFIG: undefined,
    };
    const jobEnv = (extra: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({
      ...unset,
      ...awsJobEnv(bench, { AWS_REGION: undefined, ...extra }),
    });
    const gha = async (opts: Parameters<typeof runGithubAction>[0]) => {
      const r = await runGithubAction({ node, ...opts });
      results.push(r);
      return r;
    };
    // amazon-ecr-login's docker_password_<registry> is the one output meant to carry the ECR
    // token (masked, for service containers): checked by value below, scanned like the rest otherwise.
    const texts = (r: GithubRunResult, name: string) => ({
      [`${name} stdout`]: r.stdout,
      [`${name} stderr`]: r.stderr,
      [`${name} outputs`]: fs
        .readFileSync(r.files.output, 'utf8')
        .split('\n')
        .filter((l) => !l.startsWith('docker_password_'))
        .join('\n'),
      [`${name} summary`]: r.summary,
    });

    test('OIDC -> assume-role -> ecr-login -> docker push/pull -> posts: one STS call, config restored, nothing leaked', async () => {
      const canaries = plantCanaries('otherregistry');
      const dockerConfig = path.join(tmp, 'docker');
      fs.mkdirSync(dockerConfig, { mode: 0o700 });
      const configFile = path.join(dockerConfig, 'config.json');
      const before = {
        auths: { 'other.example.com': { auth: Buffer.from(`ci:${canaries.otherregistry}`).toString('base64') } },
        credHelpers: { 'helper.example.com': 'pass' },
      };
      fs.writeFileSync(configFile, JSON.stringify(before, null, 2), { mode: 0o600 });

      // An audience of this test alone: its GitHub token request is told apart from others' by it.
      const audience = `sts.amazonaws.com/gh-${crypto.randomBytes(6).toString('hex')}`;
      const role = await privateRole(bench, { audiences: [audience] });
      const oidc = await lastSeq(bench.TB_OIDC_URL);
      const ar = await gha({
        action: 'components/assume-role/action.yml',
        inputs: { 'role-arn': role, region: bench.TB_AWS_REGION, audience },
        env: jobEnv(github),
        runPost: false,
      });
      expect(ar.stdout).toContain(`with GitHub OIDC token (audience ${audience})`);
      expect(ar.exitCode).toBe(0);
      expect(await stsRequests(bench, role)).toHaveLength(1);
      expect(
        (await requestsSince(bench.TB_OIDC_URL, oidc, '/token')).filter((t) => t.details?.audience === audience),
      ).toHaveLength(1);
      expect(ar.outputs['aws-account-id']).toBe('123456789012');
      expect(ar.outputs['aws-secret-access-key']).toBeUndefined(); // only with output-credentials
      expect(ar.env.AWS_REGION).toBe(bench.TB_AWS_REGION);
      const { AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secretKey, AWS_SESSION_TOKEN: sessionToken } = ar.env;
      expect(keyId).toMatch(/^ASIA/);
      // Masked before use: every credential was announced with ::add-mask::.
      expect(ar.masks).toEqual(
        expect.arrayContaining([keyId, secretKey, sessionToken, bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN]),
      );

      // A later step of the same job: the runner applies GITHUB_ENV to its environment.
      const ecr = await gha({
        action: 'components/ecr-login/action.yml',
        inputs: {},
        env: jobEnv({ ...ar.env, DOCKER_CONFIG: dockerConfig }),
        runPost: false,
      });
      expect(ecr.exitCode).toBe(0);
      expect(ecr.outputs.registry).toBe(bench.TB_ECR_REGISTRY);
      expect(ecr.outputs['docker-config']).toBe(configFile);
      expect(ecr.masks).toContain(bench.TB_ECR_PASSWORD);
      const ecrId = bench.TB_ECR_REGISTRY.replace(/[^A-Za-z0-9]/g, '_');
      expect(ecr.outputs[`docker_username_${ecrId}`]).toBe('AWS');
      expect(ecr.outputs[`docker_password_${ecrId}`]).toBe(bench.TB_ECR_PASSWORD); // masked before it was set
      expect((fs.statSync(configFile).mode & 0o777).toString(8)).toBe('600');
      const during = JSON.parse(fs.readFileSync(configFile, 'utf8'));
      expect(during.auths['other.example.com']).toEqual(before.auths['other.example.com']); // merged, never clobbered
      expect(Object.keys(during.auths)).toContain(bench.TB_ECR_REGISTRY);

      // The user's docker commands, with the config ecr-login wrote.
      const dockerEnv = { ...process.env, DOCKER_CONFIG: dockerConfig };
      await runOk('docker', ['pull', '-q', bench.TB_BASE_IMAGE], { env: dockerEnv });
      await runOk('docker', ['tag', bench.TB_BASE_IMAGE, image], { env: dockerEnv });
      await runOk('docker', ['push', '-q', image], { env: dockerEnv });
      await runOk('docker', ['image', 'rm', image], { env: dockerEnv });
      await runOk('docker', ['pull', '-q', image], { env: dockerEnv });

      // Posts run last, in reverse order, each with its own saved state.
      const ecrPost = await gha({
        entry: 'dist/ecr-login/post.js',
        env: jobEnv({ ...ar.env, DOCKER_CONFIG: dockerConfig, STATE_added: ecr.state.added }),
      });
      expect(ecrPost.exitCode).toBe(0);
      expect(JSON.parse(fs.readFileSync(configFile, 'utf8'))).toEqual(before);
      const arState = Object.fromEntries(Object.entries(ar.state).map(([k, v]) => [`STATE_${k}`, v]));
      const arPost = await gha({
        entry: 'dist/assume-role/post.js',
        inputs: { 'role-arn': role },
        env: jobEnv({ ...ar.env, ...arState }),
      });
      expect(arPost.exitCode).toBe(0);
      expect(arPost.env).toEqual({
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_SESSION_TOKEN: '',
        AWS_REGION: '',
        AWS_DEFAULT_REGION: '',
      });

      const secrets = {
        keyId: keyId!,
        secretKey: secretKey!,
        sessionToken: sessionToken!,
        ecrPassword: bench.TB_ECR_PASSWORD,
        request: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
        ...canaries,
      };
      expectNoLeaks({
        secrets,
        texts: {
          ...texts(ar, 'assume-role'),
          ...texts(ecr, 'ecr-login'),
          ...texts(ecrPost, 'ecr-login post'),
          ...texts(arPost, 'assume-role post'),
        },
        dirs: [ar.workspace, ecr.workspace],
      });
      const { otherregistry: _kept, ...added } = secrets; // the user's own entry stays in the config, as it was
      expectNoLeaks(
        {
          secrets: added,
          dirs: [dockerConfig, path.join(ar.tempDir, 'runner-temp'), path.join(ecr.tempDir, 'runner-temp')],
        },
        'docker config after post',
      );
    });

    test('wrong audience on GitHub: ::error:: with the claims hint, nothing exported; post without state does nothing', async () => {
      // The bench's STS under a path of this test alone: only its own requests are counted.
      const own = `/gh-${crypto.randomBytes(6).toString('hex')}`;
      const sts = await lastSeq(bench.TB_STS_URL);
      const ar = await gha({
        action: 'components/assume-role/action.yml',
        inputs: { 'role-arn': bench.TB_STS_ROLE_ARN, region: bench.TB_AWS_REGION, audience: 'wrong-aud' },
        env: jobEnv({ ...github, AWS_ENDPOINT_URL_STS: `${bench.TB_STS_URL}${own}` }),
      });
      expect(ar.exitCode).toBe(1);
      expect(ar.commands.find((c) => c.command === 'error')?.value).toMatch(
        /InvalidIdentityToken: Incorrect token audience/,
      );
      expect(ar.stdout).toContain('aud: wrong-aud');
      expect(ar.stdout).toMatch(/does not list the audience 'wrong-aud'/);
      expect(
        (await requestsSince(bench.TB_STS_URL, sts)).filter((q) => q.path === own || q.path.startsWith(`${own}/`)),
      ).toHaveLength(1);
      expect(ar.env).toEqual({});
      expect(ar.state).toEqual({});
      expect(ar.postExitCode).toBe(0);
      expect(fs.readFileSync(`${ar.files.env}.post`, 'utf8')).toBe('');
      expectNoLeaks({
        secrets: { request: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN },
        texts: { ...texts(ar, 'main'), post: `${ar.postStdout}${ar.postStderr}` },
        dirs: [ar.workspace],
      });
    });

    test('ecr-login without AWS credentials: ::error:: with the hint, config untouched, post does nothing', async () => {
      const dockerConfig = path.join(tmp, 'docker-nocreds');
      fs.mkdirSync(dockerConfig, { mode: 0o700 });
      const before = JSON.stringify({ auths: { 'other.example.com': { auth: 'dTpw' } } });
      fs.writeFileSync(path.join(dockerConfig, 'config.json'), before, { mode: 0o600 });
      const ecr = await gha({
        action: 'components/ecr-login/action.yml',
        inputs: { region: bench.TB_AWS_REGION },
        env: jobEnv({ DOCKER_CONFIG: dockerConfig, HOME: tmp }),
      });
      expect(ecr.exitCode).toBe(1);
      expect(ecr.commands.find((c) => c.command === 'error')?.value).toMatch(/no AWS credentials found/);
      expect(ecr.stdout).toContain('hint: run assume-role before this step');
      expect(ecr.state).toEqual({});
      expect(ecr.postExitCode).toBe(0);
      expect(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8')).toBe(before);
    });

    test('output-credentials: secret outputs are masked first', async () => {
      const role = await privateRole(bench);
      const ar = await gha({
        action: 'components/assume-role/action.yml',
        inputs: { 'role-arn': role, region: bench.TB_AWS_REGION, 'output-credentials': 'true', export: 'none' },
        env: jobEnv(github),
      });
      expect(ar.exitCode).toBe(0);
      expect(ar.env).toEqual({});
      const secret = ar.outputs['aws-secret-access-key']!;
      expect(secret.length).toBeGreaterThan(20);
      const maskAt = ar.stdout.indexOf(`::add-mask::${secret}`);
      expect(maskAt).toBeGreaterThanOrEqual(0);
      expectNoLeaks({
        secrets: { secret, token: ar.outputs['aws-session-token']! },
        texts: { stdout: ar.stdout, stderr: ar.stderr, summary: ar.summary },
      });
    });
  },
);
