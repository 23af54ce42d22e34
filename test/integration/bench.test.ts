// The test bench itself, exercised with the real clients: docker CLI, skopeo, the AWS SDK
// (STS, ECR), fetch against Vault; plus fault injection and the harness helpers.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import {
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { mintIdToken } from '../endpoints/oidc';
import { repoRoot, run, runOk, withEnv } from '../support/exec';
import { runGithubAction, parseFileCommands } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { validateActionYml, validateGitlabCi, validateGitlabTemplate } from '../support/schema';
import { type BenchEnv, benchControl, describeBench } from '../support/testbed';

jest.setTimeout(180_000);

const id = crypto.randomBytes(4).toString('hex');

/** Temporarily set process.env entries for the SDK's environment-based configuration. */
async function withProcessEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const awsEnv = (env: BenchEnv) => ({
  AWS_ENDPOINT_URL_STS: env.TB_STS_URL,
  AWS_ENDPOINT_URL_ECR: env.TB_ECR_URL,
  AWS_REGION: env.TB_AWS_REGION,
  AWS_ACCESS_KEY_ID: env.TB_AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: env.TB_AWS_SECRET_ACCESS_KEY,
  AWS_EC2_METADATA_DISABLED: 'true',
});

describeBench(['docker', 'registries', 'aws', 'vault', 'registry-open-proxy'], 'test bench (real parts)', (env) => {
  let dockerConfig: string;
  let dockerEnv: NodeJS.ProcessEnv;
  const image = `shipline-bench/img:${id}`;
  const tagged: string[] = [image];
  const docker = (args: string[], input?: string) =>
    runOk('docker', args, { env: dockerEnv, ...(input === undefined ? {} : { input }) });

  /** Push `image` as ref and return the digest docker reports. */
  async function push(ref: string): Promise<string> {
    await docker(['tag', image, ref]);
    tagged.push(ref);
    const r = await docker(['push', ref]);
    const m = /digest: (sha256:[0-9a-f]{64})/.exec(r.stdout);
    if (!m) throw new Error(`no digest in docker push output:\n${r.stdout}`);
    return m[1]!;
  }

  async function skopeoDigest(ref: string): Promise<string> {
    const r = await runOk('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--authfile',
      path.join(dockerConfig, 'config.json'),
      `docker://${ref}`,
    ]);
    return (JSON.parse(r.stdout) as { Digest: string }).Digest;
  }

  beforeAll(async () => {
    dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-dockercfg-'));
    fs.writeFileSync(path.join(dockerConfig, 'config.json'), '{}\n', { mode: 0o600 });
    dockerEnv = withEnv({ DOCKER_CONFIG: dockerConfig, DOCKER_BUILDKIT: '0' });
    const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-ctx-'));
    fs.writeFileSync(path.join(ctx, 'stamp'), `${id}\n`);
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      `FROM ${env.TB_BASE_IMAGE}\nCOPY stamp /stamp\nCMD ["cat", "/stamp"]\n`,
    );
    await docker(['build', '-q', '-t', image, ctx]);
    fs.rmSync(ctx, { recursive: true, force: true });
  });

  afterAll(async () => {
    await run('docker', ['image', 'rm', '-f', ...tagged], { env: dockerEnv });
    fs.rmSync(dockerConfig, { recursive: true, force: true });
  });

  test('docker builds FROM the base image and runs it', async () => {
    const r = await docker(['run', '--rm', '--network', 'none', image]);
    expect(r.stdout.trim()).toBe(id);
  });

  test('open registry: docker push, skopeo reads the same digest', async () => {
    const ref = `${env.TB_REGISTRY_OPEN}/bench/open:${id}`;
    const digest = await push(ref);
    expect(await skopeoDigest(ref)).toBe(digest);
  });

  test('basic-auth registry: login --password-stdin, push, skopeo with the same auth file', async () => {
    const ref = `${env.TB_REGISTRY_BASIC}/bench/basic:${id}`;
    const denied = await run('docker', ['push', ref], { env: dockerEnv });
    expect(denied.code).not.toBe(0);
    await docker(
      ['login', '-u', env.TB_REGISTRY_BASIC_USER, '--password-stdin', env.TB_REGISTRY_BASIC],
      env.TB_REGISTRY_BASIC_PASSWORD,
    );
    const digest = await push(ref);
    expect(await skopeoDigest(ref)).toBe(digest);
  });

  test('bearer-token registry: the token server grants pull,push and logs each token request', async () => {
    const tokens = benchControl(env.TB_TOKEN_SERVER);
    const since = await tokens.mark();
    const ref = `${env.TB_REGISTRY_TOKEN}/bench/token:${id}`;
    await docker(
      ['login', '-u', env.TB_REGISTRY_TOKEN_USER, '--password-stdin', env.TB_REGISTRY_TOKEN],
      env.TB_REGISTRY_TOKEN_PASSWORD,
    );
    const digest = await push(ref);
    expect(await skopeoDigest(ref)).toBe(digest);
    const logged = await tokens.requests({ since });
    expect(logged.length).toBeGreaterThanOrEqual(2);
    expect(logged.every((r) => r.details?.account === 'shipline' && r.status === 200)).toBe(true);
    const granted = logged.flatMap((r) => (r.details?.granted as string[] | undefined) ?? []);
    expect(granted.some((g) => /^repository:bench\/token:(pull,push|push,pull)$/.test(g))).toBe(true);

    // wrong password: the token server answers 401 and docker login fails
    const bad = await run('docker', ['login', '-u', 'shipline', '--password-stdin', env.TB_REGISTRY_TOKEN], {
      env: dockerEnv,
      input: 'wrong',
    });
    expect(bad.code).not.toBe(0);
    expect((await tokens.requests({ since })).some((r) => r.status === 401)).toBe(true);
  });

  test('ECR: @aws-sdk/client-ecr via AWS_ENDPOINT_URL_ECR, docker login, push, pull, retag', async () => {
    await withProcessEnv(awsEnv(env), async () => {
      const ecr = new ECRClient({});
      const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
      const data = auth.authorizationData?.[0];
      expect(data?.proxyEndpoint).toBe(`http://${env.TB_ECR_REGISTRY}`);
      const [user, password] = Buffer.from(data!.authorizationToken!, 'base64').toString().split(':') as [
        string,
        string,
      ];
      expect(user).toBe('AWS');
      const registry = data!.proxyEndpoint!.replace(/^https?:\/\//, '');
      await docker(['login', '-u', user, '--password-stdin', registry], password);
      const ref = `${registry}/shipline/app:${id}`;
      const digest = await push(ref);
      await docker(['image', 'rm', ref]);
      const pulled = await docker(['pull', ref]);
      expect(pulled.stdout).toContain(digest);

      const repos = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['shipline/app'] }));
      expect(repos.repositories?.[0]?.repositoryUri).toBe(`${env.TB_ECR_REGISTRY}/shipline/app`);
      const got = await ecr.send(
        new BatchGetImageCommand({ repositoryName: 'shipline/app', imageIds: [{ imageTag: id }] }),
      );
      const img = got.images?.[0];
      expect(img?.imageId?.imageDigest).toBe(digest);
      const put = await ecr.send(
        new PutImageCommand({
          repositoryName: 'shipline/app',
          imageTag: `${id}-retag`,
          imageManifest: img!.imageManifest!,
          imageManifestMediaType: img!.imageManifestMediaType!,
        }),
      );
      expect(put.image?.imageId?.imageDigest).toBe(digest);
      expect(await skopeoDigest(`${registry}/shipline/app:${id}-retag`)).toBe(digest);
      await expect(
        ecr.send(
          new PutImageCommand({
            repositoryName: 'shipline/app',
            imageTag: `${id}-retag`,
            imageManifest: img!.imageManifest!,
            imageManifestMediaType: img!.imageManifestMediaType!,
          }),
        ),
      ).rejects.toMatchObject({ name: 'ImageAlreadyExistsException' });
      await expect(
        ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope/nothing'] })),
      ).rejects.toMatchObject({ name: 'RepositoryNotFoundException' });
    });
  });

  test('ECR rejects a request signed with an unknown secret', async () => {
    await withProcessEnv({ ...awsEnv(env), AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, async () => {
      await expect(new ECRClient({ maxAttempts: 1 }).send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
      });
    });
  });

  test('STS: AssumeRoleWithWebIdentity with a GitHub OIDC token from the runner-style endpoint', async () => {
    const sts = benchControl(env.TB_STS_URL);
    const since = await sts.mark();
    const res = await fetch(`${env.TB_GITHUB_ID_TOKEN_URL}&audience=sts.amazonaws.com`, {
      headers: { authorization: `Bearer ${env.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { value: string }).value;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({
      iss: env.TB_OIDC_URL,
      aud: 'sts.amazonaws.com',
      sub: 'repo:shipline/shipline:ref:refs/heads/main',
    });

    await withProcessEnv(awsEnv(env), async () => {
      const out = await new STSClient({}).send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: env.TB_STS_ROLE_ARN,
          RoleSessionName: `gh-${id}`,
          WebIdentityToken: token,
        }),
      );
      expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
      expect(out.Credentials?.Expiration).toBeInstanceOf(Date);
      expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${env.TB_ECR_ACCOUNT}:assumed-role/shipline-ci/gh-${id}`);
      expect(out.SubjectFromWebIdentityToken).toBe('repo:shipline/shipline:ref:refs/heads/main');
      const who = await new STSClient({
        credentials: {
          accessKeyId: out.Credentials!.AccessKeyId!,
          secretAccessKey: out.Credentials!.SecretAccessKey!,
          sessionToken: out.Credentials!.SessionToken!,
        },
      }).send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toBe(out.AssumedRoleUser?.Arn);
      expect(who.Account).toBe(env.TB_ECR_ACCOUNT);
    });
    const actions = (await sts.requests({ since })).map((r) => r.action);
    expect(actions.filter((a) => a === 'AssumeRoleWithWebIdentity')).toHaveLength(1);
  });

  test('STS: GitLab id_tokens (exported minter and the /__mint route), sub conditions', async () => {
    await withProcessEnv(awsEnv(env), async () => {
      const sts = new STSClient({});
      const fromFn = mintIdToken({ flavor: 'gitlab', audience: 'https://gitlab.example.com' });
      const a = await sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: env.TB_STS_ROLE_GITLAB_ARN,
          RoleSessionName: 'gitlab-job',
          WebIdentityToken: fromFn,
        }),
      );
      expect(a.AssumedRoleUser?.Arn).toContain('assumed-role/shipline-gitlab/gitlab-job');

      const minted = (await (
        await fetch(`${env.TB_OIDC_URL}/__mint`, {
          method: 'POST',
          body: JSON.stringify({
            flavor: 'gitlab',
            claims: { ref: 'feature', sub: 'project_path:shipline/shipline:ref_type:branch:ref:feature' },
          }),
        })
      ).json()) as { token: string };
      // shipline-main trusts only main: a feature-branch token is denied
      await expect(
        sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: env.TB_STS_ROLE_MAIN_ARN,
            RoleSessionName: 'gitlab-job',
            WebIdentityToken: minted.token,
          }),
        ),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
        message: expect.stringContaining('Not authorized to perform sts:AssumeRoleWithWebIdentity') as unknown,
        $metadata: { httpStatusCode: 403 },
      });
      const main = mintIdToken({ flavor: 'gitlab' });
      const ok = await sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: env.TB_STS_ROLE_MAIN_ARN,
          RoleSessionName: 'gitlab-main',
          WebIdentityToken: main,
        }),
      );
      expect(ok.Credentials?.SessionToken).toBeTruthy();
    });
  });

  test('STS: wrong audience, expired and foreign tokens fail with AWS error codes, without retries', async () => {
    const ctl = benchControl(env.TB_STS_URL);
    const since = await ctl.mark();
    await withProcessEnv(awsEnv(env), async () => {
      const sts = new STSClient({});
      const send = (token: string, role = env.TB_STS_ROLE_ARN) =>
        sts.send(
          new AssumeRoleWithWebIdentityCommand({ RoleArn: role, RoleSessionName: 'neg', WebIdentityToken: token }),
        );
      // the SDK names modelled errors by their shape (InvalidIdentityTokenException); Code stays AWS's
      await expect(send(mintIdToken({ audience: 'https://wrong.example' }))).rejects.toMatchObject({
        name: 'InvalidIdentityTokenException',
        message: 'Incorrect token audience',
        $metadata: { httpStatusCode: 400 },
      });
      // an audience the provider knows, but not one this role trusts
      await expect(send(mintIdToken({ audience: 'https://gitlab.example.com' }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(send(mintIdToken({ expiredSecondsAgo: 60 }))).rejects.toMatchObject({
        name: 'ExpiredTokenException',
      });
      await expect(send(mintIdToken({ foreignKey: true }))).rejects.toMatchObject({
        name: 'InvalidIdentityTokenException',
      });
      await expect(send('not-a-jwt')).rejects.toMatchObject({ name: 'InvalidIdentityTokenException' });
    });
    expect((await ctl.requests({ since, action: 'AssumeRoleWithWebIdentity' })).length).toBe(5);
  });

  test('STS: AssumeRole (SigV4) honours the role external id', async () => {
    await withProcessEnv(awsEnv(env), async () => {
      const sts = new STSClient({});
      const ok = await sts.send(
        new AssumeRoleCommand({
          RoleArn: env.TB_STS_ROLE_EXTERNAL_ARN,
          RoleSessionName: 'ext',
          ExternalId: env.TB_STS_EXTERNAL_ID,
        }),
      );
      expect(ok.AssumedRoleUser?.Arn).toContain('assumed-role/shipline-external/ext');
      await expect(
        sts.send(
          new AssumeRoleCommand({ RoleArn: env.TB_STS_ROLE_EXTERNAL_ARN, RoleSessionName: 'ext', ExternalId: 'wrong' }),
        ),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      const me = await sts.send(new GetCallerIdentityCommand({}));
      expect(me.Arn).toBe(`arn:aws:iam::${env.TB_ECR_ACCOUNT}:user/shipline-test`);
    });
  });

  test('Vault: AppRole login, KV v2 and v1 reads, policy 403, mount probe, revoke-self', async () => {
    const v = env.TB_VAULT_URL;
    const login = await fetch(`${v}/v1/auth/${env.TB_VAULT_AUTH_PATH}/login`, {
      method: 'POST',
      body: JSON.stringify({ role_id: env.TB_VAULT_ROLE_ID, secret_id: env.TB_VAULT_SECRET_ID }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { auth: { client_token: string; policies: string[] } }).auth.client_token;
    const h = { 'x-vault-token': token };
    const kv2 = await fetch(`${v}/v1/secret/data/fake-app/users/fake-user`, { headers: h });
    expect(kv2.status).toBe(200);
    const body = (await kv2.json()) as { data: { data: Record<string, string>; metadata: { version: number } } };
    expect(body.data.data.username).toBe('fake-user');
    expect(body.data.data.password).toMatch(/^vault-pw-/);
    expect(body.data.metadata.version).toBe(1);
    expect((await fetch(`${v}/v1/kv/fake-app/legacy`, { headers: h })).status).toBe(200);
    const denied = await fetch(`${v}/v1/secret/data/other-app/api`, { headers: h });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { errors: string[] }).errors.join()).toContain('permission denied');
    const mounts = (await (await fetch(`${v}/v1/sys/internal/ui/mounts/secret/fake-app`, { headers: h })).json()) as {
      data: { options: { version: string }; path: string };
    };
    expect(mounts.data).toMatchObject({ path: 'secret/', options: { version: '2' } });
    expect((await fetch(`${v}/v1/secret/data/fake-app/db`)).status).toBe(403);
    const bad = await fetch(`${v}/v1/auth/${env.TB_VAULT_AUTH_PATH}/login`, {
      method: 'POST',
      body: JSON.stringify({ role_id: env.TB_VAULT_ROLE_ID, secret_id: 'wrong' }),
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${v}/v1/auth/token/revoke-self`, { method: 'POST', headers: h })).status).toBe(204);
    expect((await fetch(`${v}/v1/secret/data/fake-app/db`, { headers: h })).status).toBe(403);
  });

  test('fault injection: the next matching request fails (500), the one after succeeds', async () => {
    const vault = benchControl(env.TB_VAULT_URL);
    await vault.fault({ kind: '500', count: 1, match: '/v1/sys/health' });
    expect((await fetch(`${env.TB_VAULT_URL}/v1/sys/health`)).status).toBe(500);
    expect((await fetch(`${env.TB_VAULT_URL}/v1/sys/health`)).status).toBe(200);

    // the SDK's own retry absorbs one injected 500 on STS
    const sts = benchControl(env.TB_STS_URL);
    const since = await sts.mark();
    await sts.fault({ kind: '500', count: 1, match: 'GetCallerIdentity' });
    await withProcessEnv(awsEnv(env), async () => {
      const me = await new STSClient({}).send(new GetCallerIdentityCommand({}));
      expect(me.Account).toBe(env.TB_ECR_ACCOUNT);
    });
    const calls = await sts.requests({ since, action: 'GetCallerIdentity' });
    expect(calls.map((c) => c.status)).toEqual([500, 200]);
    expect(calls[0]?.fault).toBe('500');

    // 429 with Retry-After, and a dropped connection
    await vault.fault({ kind: '429', count: 1, retryAfter: 3, match: '/v1/sys/health' });
    const throttled = await fetch(`${env.TB_VAULT_URL}/v1/sys/health`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    await vault.fault({ kind: 'drop', count: 1, match: '/v1/sys/health' });
    await expect(fetch(`${env.TB_VAULT_URL}/v1/sys/health`)).rejects.toThrow();
  });

  test('registry proxy counts registry requests by kind', async () => {
    const proxy = benchControl(env.TB_REGISTRY_OPEN_PROXY);
    const since = await proxy.mark();
    const accept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
    const r = await fetch(`http://${env.TB_REGISTRY_OPEN_PROXY}/v2/base/busybox/manifests/1`, { headers: { accept } });
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    expect((await proxy.requests({ since })).map((x) => x.action)).toEqual(['GET manifest']);
  });
});

// ------------------------------------------------------------------ harness helpers
// These use no bench part (except Node 24 when installed): they check the helpers other
// tests are built on against the real runners' formats.

describe('harness: runGithubAction', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-gha-fixture-'));
    fs.writeFileSync(
      path.join(dir, 'main.js'),
      `const fs = require('fs');
const input = (n) => process.env['INPUT_' + n.replace(/ /g, '_').toUpperCase()] || '';
fs.appendFileSync(process.env.GITHUB_OUTPUT, 'role=' + input('role-arn') + '\\n' + 'multi<<EOF_1\\nline1\\nline2\\nEOF_1\\n');
fs.appendFileSync(process.env.GITHUB_ENV, 'EXPORTED=' + input('with space') + '\\n');
fs.appendFileSync(process.env.GITHUB_STATE, 'created=container-1\\n');
fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, '### done\\n');
const ev = JSON.parse(fs.readFileSync(process.env.GITHUB_EVENT_PATH, 'utf8'));
console.log('::add-mask::' + input('token'));
console.log('event=' + process.env.GITHUB_EVENT_NAME + ' pr=' + ev.number + ' node=' + process.versions.node.split('.')[0] + ' default=' + input('mode'));
`,
    );
    fs.writeFileSync(
      path.join(dir, 'post.js'),
      `console.log('post state=' + process.env.STATE_created + ' env=' + process.env.EXPORTED);\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'action.yml'),
      `name: fixture\ndescription: harness fixture\ninputs:\n  role-arn:\n    description: role\n    required: true\n  mode:\n    description: mode\n    default: fast\n  with space:\n    description: x\n  token:\n    description: secret\noutputs:\n  role:\n    description: role\nruns:\n  using: node24\n  main: main.js\n  post: post.js\n`,
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('inputs, file commands (heredoc), state to post, event payload, masks, action.yml defaults', async () => {
    const r = await runGithubAction({
      action: path.join(dir, 'action.yml'),
      inputs: { 'role-arn': 'arn:aws:iam::123456789012:role/x', 'with space': 'spaced', token: 'tok-123456' },
      event: { name: 'pull_request', payload: { number: 42 } },
    });
    try {
      expect(r.exitCode).toBe(0);
      expect(r.outputs).toEqual({ role: 'arn:aws:iam::123456789012:role/x', multi: 'line1\nline2' });
      expect(r.env).toEqual({ EXPORTED: 'spaced' });
      expect(r.state).toEqual({ created: 'container-1' });
      expect(r.summary).toContain('### done');
      expect(r.masks).toEqual(['tok-123456']);
      expect(r.stdout).toContain('event=pull_request pr=42');
      expect(r.stdout).toContain('default=fast');
      expect(r.postExitCode).toBe(0);
      expect(r.postStdout).toContain('post state=container-1 env=spaced');
    } finally {
      r.cleanup();
    }
  });

  test('runs under the bench Node 24 when installed', async () => {
    const node = requireNode24(); // throws under CI=true when missing
    if (!node) {
      process.stderr.write('[bench] Node 24 not installed: run scripts/testbed up\n');
      return;
    }
    const r = await runGithubAction({ entry: path.join(dir, 'main.js'), inputs: { 'role-arn': 'r' }, node });
    r.cleanup();
    expect(r.stdout).toContain('node=24');
  });

  test('parseFileCommands rejects an unterminated heredoc', () => {
    expect(() => parseFileCommands('x<<EOF\nvalue\n')).toThrow(/never closed/);
  });
});

describe('harness: runGitlabCiLocal', () => {
  const template = `spec:
  inputs:
    stage:
      default: test
    greeting:
      type: string
      default: hi
---
hello:
  stage: $[[ inputs.stage ]]
  variables:
    GREETING: $[[ inputs.greeting ]]
    COMPONENT_SHA: $[[ component.sha ]]
  script:
    - echo "greet=$GREETING home=$SHIPLINE_HOME mr=\${CI_MERGE_REQUEST_IID:-none} tag=\${CI_COMMIT_TAG:-none} branch=\${CI_COMMIT_BRANCH:-none} secret_len=\${#MY_SECRET}"
    - echo "GREETED=$GREETING" > hello.env
  artifacts:
    reports:
      dotenv: hello.env
`;
  const ci = { include: [componentInclude('hello', { greeting: 'hey' })], stages: ['test'] };

  test.each([
    ['default-branch', /mr=none tag=none branch=main/],
    ['mr', /mr=7 tag=none branch=none/],
    ['tag', /mr=none tag=v1\.2\.3 branch=none/],
  ] as const)('%s pipeline: component from the working tree, inputs, dotenv', async (kind, expected) => {
    const r = await runGitlabCiLocal({
      ciYml: ci,
      pipeline: kind,
      copy: [],
      files: { 'templates/hello.yml': template },
      fileVariables: { MY_SECRET: 'abcdef' },
    });
    try {
      expect(r.stderr + r.stdout).not.toContain('set-head');
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(expected);
      // SHIPLINE_HOME stands in for the job image's /opt/shipline: never the checkout
      expect(r.stdout).toContain(`greet=hey home=${repoRoot} `);
      expect(r.stdout).not.toContain(`home=${r.dir}`);
      expect(r.stdout).toContain('secret_len=6');
      expect(r.dotenv('hello')).toEqual({ GREETED: 'hey' });
      expect(r.args.join(' ')).not.toContain('abcdef');
    } finally {
      r.cleanup();
    }
  });

  test('schema: action.yml through GitHub workflow-parser, GitLab CI and component templates', () => {
    const good = validateActionYml(
      'name: x\ndescription: y\ninputs:\n  a:\n    description: a\n    required: true\nruns:\n  using: node24\n  main: dist/x/index.js\n  post: dist/x/post.js\n',
    );
    expect(good.errors).toEqual([]);
    expect(good.template?.runs).toMatchObject({ using: 'node24', main: 'dist/x/index.js' });
    const bad = validateActionYml('name: x\ndescription: y\nruns:\n  using: node99\n  mains: index.js\n');
    expect(bad.ok).toBe(false);
    expect(bad.errors.length).toBeGreaterThan(0);

    expect(validateGitlabCi({ job: { script: ['echo hi'], stage: 'test' } }).ok).toBe(true);
    const badCi = validateGitlabCi({ job: { script: 'x', when: 'sometimes' } });
    expect(badCi.ok).toBe(false);
    expect(validateGitlabTemplate(template).errors).toEqual([]);
    expect(
      validateGitlabTemplate(
        template.replace('stage: $[[ inputs.stage ]]', 'stage: $[[ inputs.stage ]]\n  retry: lots'),
      ).ok,
    ).toBe(false);
  });
});
