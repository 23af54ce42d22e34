// The assume-role and ecr-login templates through gitlab-ci-local against the bench:
// an id_token passed as a (file) variable -> assume-role job -> ecr-login + docker push/pull
// in the same job's `script` -> after_script cleanup; and the ecr-login template on its own
// with static keys from CI/CD variables. Secrets never reach the log or the dotenv report;
// the docker config ends as it began.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintIdToken } from '../endpoints/oidc';
import { run } from '../support/exec';
import { componentInclude, runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';
import { describeBench } from '../support/testbed';
import { expectNoLeaks, plantCanaries } from '../support/canary';
import { privateRole, stsRequests } from '../support/assume-role-aws';

jest.setTimeout(300_000);

describeBench(['aws', 'docker', 'registry-basic'], 'assume-role + ecr-login on GitLab (gitlab-ci-local)', (bench) => {
  const results: GitlabRunResult[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-ar-gcl-'));
  const images: string[] = [];
  afterAll(async () => {
    results.forEach((r) => r.cleanup());
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const i of images) await run('docker', ['image', 'rm', '--force', i]);
  });
  /** Endpoints for the job (not secrets); the job must not inherit AWS credentials from the test. */
  const jobVars = (dockerConfig: string, image: string) => ({
    AWS_ENDPOINT_URL_STS: bench.TB_STS_URL,
    AWS_ENDPOINT_URL_ECR: bench.TB_ECR_URL,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    DOCKER_CONFIG: dockerConfig,
    BASE_IMAGE: bench.TB_BASE_IMAGE,
    IMAGE: image,
  });
  const seedConfig = (name: string, canary: string) => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir, { mode: 0o700 });
    const before = { auths: { 'other.example.com': { auth: Buffer.from(`ci:${canary}`).toString('base64') } } };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(before), { mode: 0o600 });
    return { dir, before };
  };
  const pushPull = [
    'docker pull -q "$BASE_IMAGE"',
    'docker tag "$BASE_IMAGE" "$IMAGE"',
    'docker push -q "$IMAGE"',
    'docker image rm "$IMAGE"',
    'docker pull -q "$IMAGE"',
  ];
  /** The job's dotenv report (gitlab.ts's dotenv() does not descend into `.shipline/`). */
  const dotenv = (r: GitlabRunResult, job: string): Record<string, string> => {
    const file = path.join(
      r.dir,
      '.gitlab-ci-local',
      'artifacts',
      job,
      '.gitlab-ci-reports',
      'dotenv',
      '.shipline',
      'outputs.env',
    );
    const out: Record<string, string> = {};
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  };
  const cleanEnv = () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !/^(AWS_|DOCKER_CONFIG$)/.test(k)) env[k] = v;
    return env;
  };

  test('id_token variable -> assume-role -> ecr-login -> docker push/pull -> after_script: one STS call, nothing leaked', async () => {
    const c = plantCanaries('otherregistry');
    const { dir: dockerConfig, before } = seedConfig('gl-oidc', c.otherregistry);
    const image = `${bench.TB_ECR_REGISTRY}/shipline/app:ar-gl-${crypto.randomBytes(4).toString('hex')}`;
    images.push(image);
    const role = await privateRole(bench, { subjects: ['project_path:shipline/shipline:ref_type:branch:ref:main'] });
    const token = mintIdToken({ flavor: 'gitlab', ttlSeconds: 600 });
    const r = await runGitlabCiLocal({
      ciYml: {
        include: [
          componentInclude('assume-role', {
            'job-name': 'push-ecr',
            'role-arn': role,
            region: bench.TB_AWS_REGION,
            'web-identity-token-variable': 'AWS_ID_TOKEN',
            script: [
              'node "$SHIPLINE_HOME/dist/ecr-login/index.js"',
              'test -n "$AWS_SESSION_TOKEN"',
              ...pushPull,
              'node "$SHIPLINE_HOME/dist/ecr-login/index.js" --post',
            ],
          }),
        ],
      },
      variables: jobVars(dockerConfig, image),
      fileVariables: { AWS_ID_TOKEN: token },
      env: cleanEnv(),
    });
    results.push(r);
    const log = r.jobLog('push-ecr');
    if (r.exitCode !== 0) throw new Error(`pipeline failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
    expect(log).toContain('with web identity token in $AWS_ID_TOKEN');
    expect(log).toMatch(
      /assumed arn:aws:sts::123456789012:assumed-role\/shipline-ar-[0-9a-f]+\/shipline-gitlab-\S* \(account 123456789012\) in 1 STS call/,
    );
    expect(log).toContain(`logged in to ${bench.TB_ECR_REGISTRY}`);
    expect(log).toContain(`removed ${bench.TB_ECR_REGISTRY} from ${dockerConfig}/config.json`);
    expect(await stsRequests(bench, role)).toHaveLength(1);

    const report = dotenv(r, 'push-ecr');
    expect(report).toMatchObject({
      // named for the job; ecr-login ran in the job's script: <JOB>_<STEP>_<OUTPUT>
      PUSH_ECR_AWS_ACCOUNT_ID: '123456789012',
      PUSH_ECR_ECR_LOGIN_REGISTRY: bench.TB_ECR_REGISTRY,
    });
    expect(Object.keys(report).some((k) => /SECRET|SESSION_TOKEN|ACCESS_KEY/.test(k))).toBe(false);
    expect(fs.existsSync(path.join(r.dir, '.shipline', 'env'))).toBe(false); // after_script removed it
    expect(JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8'))).toEqual(before);

    expectNoLeaks({
      secrets: { token, ecrPassword: bench.TB_ECR_PASSWORD },
      texts: { stdout: r.stdout, stderr: r.stderr, log },
      dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts'), path.join(r.dir, '.shipline'), dockerConfig],
      allow: (h) => h.secret === 'otherregistry',
    });
  });

  test('a token for the wrong audience: the job fails with the claims hint, after_script runs, nothing leaked', async () => {
    const { dir: dockerConfig, before } = seedConfig('gl-wrong', plantCanaries('unused').unused);
    const token = mintIdToken({ flavor: 'gitlab', audience: 'https://gitlab.example.com' });
    const r = await runGitlabCiLocal({
      ciYml: {
        include: [
          componentInclude('assume-role', {
            'job-name': 'deploy',
            'role-arn': bench.TB_STS_ROLE_MAIN_ARN,
            region: bench.TB_AWS_REGION,
            'web-identity-token-variable': 'AWS_ID_TOKEN',
            script: ['echo must-not-run'],
          }),
        ],
      },
      variables: jobVars(dockerConfig, 'unused'),
      fileVariables: { AWS_ID_TOKEN: token },
      env: cleanEnv(),
    });
    results.push(r);
    const log = r.jobLog('deploy');
    expect(r.exitCode).not.toBe(0);
    expect(log).toContain('AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity');
    expect(log).toContain('aud: https://gitlab.example.com');
    expect(log).toContain('"127.0.0.1:5012:aud": "https://gitlab.example.com"');
    expect(log).not.toMatch(/(^|> )must-not-run$/m); // the echo never ran
    expect(fs.existsSync(path.join(r.dir, '.shipline', 'env'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8'))).toEqual(before);
    expectNoLeaks({
      secrets: { token },
      texts: { stdout: r.stdout, stderr: r.stderr, log },
      dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts'), path.join(r.dir, '.shipline')],
    });
  });

  test('the ecr-login template alone, static keys from CI/CD variables: after_script restores the config', async () => {
    const c = plantCanaries('otherregistry');
    const { dir: dockerConfig, before } = seedConfig('gl-static', c.otherregistry);
    const image = `${bench.TB_ECR_REGISTRY}/shipline/app:ecr-gl-${crypto.randomBytes(4).toString('hex')}`;
    images.push(image);
    const r = await runGitlabCiLocal({
      ciYml: {
        include: [componentInclude('ecr-login', { 'job-name': 'ecr', region: bench.TB_AWS_REGION, script: pushPull })],
      },
      variables: jobVars(dockerConfig, image),
      fileVariables: {
        AWS_ACCESS_KEY_ID: bench.TB_AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: bench.TB_AWS_SECRET_ACCESS_KEY,
      },
      env: cleanEnv(),
    });
    results.push(r);
    const log = r.jobLog('ecr');
    if (r.exitCode !== 0) throw new Error(`pipeline failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
    expect(log).toContain(`logged in to ${bench.TB_ECR_REGISTRY}`);
    expect(log).toContain(`removed ${bench.TB_ECR_REGISTRY} from`); // after_script
    // The job is named `ecr`; the docker config path is this job's only: not for later jobs.
    const id = bench.TB_ECR_REGISTRY.replace(/[^A-Za-z0-9]/g, '_');
    expect(dotenv(r, 'ecr')).toEqual({
      ECR_REGISTRY: bench.TB_ECR_REGISTRY,
      ECR_REGISTRIES: bench.TB_ECR_REGISTRY,
      [`ECR_DOCKER_USERNAME_${id.toUpperCase()}`]: 'AWS', // amazon-ecr-login's; its password is secret: not here
    });
    expect(JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8'))).toEqual(before);
    expectNoLeaks({
      secrets: { awsSecret: bench.TB_AWS_SECRET_ACCESS_KEY, ecrPassword: bench.TB_ECR_PASSWORD },
      texts: { stdout: r.stdout, stderr: r.stderr, log },
      dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts'), path.join(r.dir, '.shipline'), dockerConfig],
    });
  });
});
