// Seed pipeline A (examples/seed-a/.gitlab-ci.yml) end to end under gitlab-ci-local's docker
// executor, as a user copies it: only its include pins are moved to the pipeline's commit;
// everything else comes in as CI/CD variables (the loopback STS/ECR endpoints, the role, the
// registry, the Debian base image) and the GitLab id_token as a variables-file variable (GitLab
// would mint it from the templates' id_tokens). Every job runs in the shipline job image built
// from this checkout, standing in as the templates' default image (no SHIPLINE_HOME pointing at
// a checkout: the image's /opt/shipline), with the engine's socket and host networking.
// Default branch, merge request (with the manual stop job, twice), tag; then a failing unit test
// and a failing build. The registry is judged by skopeo; after every run nothing of it is left:
// no container named for its jobs, no /tmp/shipline-<job id> (the job containers' /tmp is a host
// directory of the run, holding each job's DOCKER_CONFIG), no dangling image of its builds.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, runOk } from '../support/exec';
import { runGitlabCiLocal, type GitlabRunResult, type PipelineSpec } from '../support/gitlab';
import { ensureJobImages, type JobImages } from '../support/job-image';
import { validateGitlabCi } from '../support/schema';
import { describeBench } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { privateRole } from '../support/assume-role-aws';
import {
  benchAuthFile,
  copySeed,
  pinIncludesToCommit,
  createEcrRepositories,
  danglingImages,
  danglingImagesOf,
  containersNamed,
  jobIdsInLogs,
  mintBenchIdToken,
  registryDigest,
  registryState,
  registryTags,
  removeLocalImages,
  removeRepository,
  shiplineEntries,
} from '../support/seeds';

jest.setTimeout(600_000);

/** The file variable the templates read the GitLab id_token from (gitlab-ci-local mints none). */
const ID_TOKEN_VARIABLE = 'SHIPLINE_AWS_ID_TOKEN';
const BASE_IMAGE = 'local/debian:bookworm';

const CI_FILE = path.join(repoRoot, 'examples/seed-a/.gitlab-ci.yml');

test('the pipeline passes GitLab’s schema and check-includes; the tests change only its include pins', async () => {
  const text = fs.readFileSync(CI_FILE, 'utf8');
  expect(validateGitlabCi(text).errors).toEqual([]);
  const r = await run(process.execPath, [path.join(repoRoot, 'scripts/check-includes.mjs'), CI_FILE]);
  expect(`${r.code} ${r.stdout}${r.stderr}`).toMatch(/^0 .*every shipline include is valid/s);
  const pinned = pinIncludesToCommit(text).split('\n');
  const changed = text.split('\n').filter((line, i) => line !== pinned[i]);
  expect(changed.length).toBe(6);
  for (const line of changed)
    expect(line).toMatch(/^ {2}- component: \$CI_SERVER_FQDN\/shipline\/shipline\/[\w-]+@1\.0\.0$/);
});

describeBench(['dockerd', 'sts', 'ecr', 'oidc', 'oidc-key', 'registry-basic'], 'seed A on GitLab', (bench) => {
  const runId = crypto.randomBytes(4).toString('hex');
  const ECR = bench.TB_ECR_REGISTRY;
  const APP_REPO = `shipline/seed-a-${runId}/app`;
  const TOOLS_REPO = `shipline/seed-a-${runId}/tools`;
  const FAIL_REPO = `shipline/seed-a-${runId}/app-failing-build`;
  const app = `${ECR}/${APP_REPO}`;
  const tools = `${ECR}/${TOOLS_REPO}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-seed-a-'));
  const authfile = benchAuthFile(bench, work);
  const results: GitlabRunResult[] = [];
  let images: JobImages;
  let role = '';
  let dangling = new Set<string>();
  const timings: string[] = [];

  beforeAll(async () => {
    // The mmdebstrap Debian base both Dockerfiles build FROM (made once per engine).
    await runOk('bash', [path.join(repoRoot, 'scripts', 'job-image'), 'base'], { timeoutMs: 900_000 });
    // the shipline job image of this checkout and gitlab-ci-local's helper (reused by content)
    images = await ensureJobImages();
    timings.push(`job image ${images.built.jobImage ? 'built' : 'reused'} in ${(images.ms / 1000).toFixed(1)} s`);
    role = await privateRole(bench);
    // as on ECR, the repositories exist before the first push (the seed's README says so)
    await createEcrRepositories(bench, [APP_REPO, TOOLS_REPO]);
    dangling = await danglingImages();
  }, 2_400_000);

  afterAll(async () => {
    for (const r of results) r.cleanup();
    for (const repo of [APP_REPO, TOOLS_REPO, FAIL_REPO]) await removeRepository(`${ECR}/${repo}`, authfile);
    await removeLocalImages([app, tools, `${ECR}/${FAIL_REPO}`]);
    fs.rmSync(work, { recursive: true, force: true });
    process.stderr.write(`[seed-a] ${timings.join(', ')}\n`);
  });

  /** The job environment: nothing AWS-, CI- or docker-config-related from the test process. */
  const runnerEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !/^(AWS_|CI_|GITLAB_|SHIPLINE_|TB_|DOCKER_CONFIG$)/.test(k)) env[k] = v;
    return env;
  };

  interface SeedRun {
    name: string;
    pipeline: PipelineSpec;
    job?: string | string[];
    needs?: boolean;
    manual?: string[];
    files?: Record<string, string>;
    variables?: Record<string, string>;
    /** Reuse the project of an earlier run (a later pipeline of the same MR). */
    cwd?: string;
  }

  interface SeedResult {
    r: GitlabRunResult;
    /** The job containers' /tmp (a host directory of this run). */
    jobTmp: string;
  }

  async function runSeed(spec: SeedRun): Promise<SeedResult> {
    const dir = spec.cwd ?? path.join(work, spec.name);
    const { ciYml } = copySeed('seed-a', dir, spec.files);
    const jobTmp = fs.mkdtempSync(path.join(work, `tmp-${spec.name}-`));
    // the claims GitLab would give this pipeline's jobs (the bench role trusts any subject)
    const ref =
      spec.pipeline.kind === 'tag'
        ? { type: 'tag', name: spec.pipeline.tag ?? 'v1.2.3' }
        : { type: 'branch', name: spec.pipeline.kind === 'mr' ? (spec.pipeline.branch ?? 'feature/x') : 'main' };
    const token = await mintBenchIdToken(bench, {
      claims: {
        sub: `project_path:shipline/shipline:ref_type:${ref.type}:ref:${ref.name}`,
        ref: ref.name,
        ref_type: ref.type,
        pipeline_source: spec.pipeline.kind === 'mr' ? 'merge_request_event' : 'push',
      },
    });
    const started = Date.now();
    const r = await runGitlabCiLocal({
      ciYml,
      cwd: dir,
      pipeline: spec.pipeline,
      ...(spec.job ? { job: spec.job } : {}),
      ...(spec.needs ? { needs: true } : {}),
      extraArgs: (spec.manual ?? []).flatMap((j) => ['--manual', j]),
      executor: 'docker',
      docker: { helperImage: images.helperImage, defaultImage: images.jobImage, volumes: [`${jobTmp}:/tmp`] },
      variables: {
        ECR_REGISTRY: ECR,
        APP_REPOSITORY: APP_REPO,
        TOOLS_REPOSITORY: TOOLS_REPO,
        AWS_ROLE_ARN: role,
        AWS_REGION: bench.TB_AWS_REGION,
        BASE_IMAGE,
        AWS_ENDPOINT_URL_STS: bench.TB_STS_URL,
        AWS_ENDPOINT_URL_ECR: bench.TB_ECR_URL,
        AWS_STS_ENDPOINT: bench.TB_STS_URL,
        AWS_EC2_METADATA_DISABLED: 'true',
        ...spec.variables,
      },
      fileVariables: { [ID_TOKEN_VARIABLE]: token },
      env: runnerEnv(),
      timeoutMs: 480_000,
    });
    const jobTimes = [...r.stdout.matchAll(/^(\S+)\s+finished in (.+?)\s*(?:FAIL.*)?$/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    timings.push(`${spec.name} ${((Date.now() - started) / 1000).toFixed(1)} s (${jobTimes.join(', ')})`);
    results.push(r);
    // the token is a secret of the run: it and the ECR password are nowhere in what it left
    expectNoLeaks({
      secrets: { token, ecrPassword: bench.TB_ECR_PASSWORD },
      texts: { stdout: r.stdout, stderr: r.stderr },
      dirs: [path.join(dir, '.gitlab-ci-local'), jobTmp],
    });
    return { r, jobTmp };
  }

  const status = (r: GitlabRunResult) => `exit ${r.exitCode}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`;
  const sha8 = (r: GitlabRunResult) => r.sha.slice(0, 8);

  /** Which image each job started in (`<job> starting <image> (<stage>)`). */
  const startedIn = (r: GitlabRunResult, job: string) =>
    new RegExp(`^${job}\\s+starting (\\S+) \\(`, 'm').exec(r.stdout)?.[1];

  /**
   * The jobs ran, each in the templates' default image (the job image: /opt/shipline, no
   * checkout's shipline); nothing of them is left: no container named for their job ids, no
   * /tmp/shipline-<job id> (with the DOCKER_CONFIG and ECR credentials in it), no dangling image.
   */
  async function expectNothingLeft({ r, jobTmp }: SeedResult, jobs: string[]) {
    for (const job of jobs) expect(`${job}: ${startedIn(r, job)}`).toBe(`${job}: ${defaultImage(r)}`);
    const ids = jobIdsInLogs(jobs.map((j) => r.jobLog(j)));
    expect(ids.length).toBeGreaterThanOrEqual(jobs.length);
    expect(await containersNamed(ids.map((id) => `shipline-${id}-`))).toEqual([]);
    expect(shiplineEntries(jobTmp)).toEqual([]);
    expect(await danglingImagesOf(dangling, [r.sha])).toEqual([]);
  }
  const defaultImage = (r: GitlabRunResult) => `local-registry.gitlab.example.com/shipline/shipline/job:${r.sha}`;

  const imageOf = (r: GitlabRunResult, job: string, prefix: string) => {
    const env = r.dotenv(job) ?? {};
    const image = env[`${prefix}_IMAGE`];
    expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    return { image: image!, digest: image!.split('@')[1]! };
  };

  let main: GitlabRunResult;
  let mainApp = '';
  let mainTools = '';

  test('default branch: both images built once and pushed (short sha + latest), tests in one container, deploy to staging', async () => {
    const run = await runSeed({ name: 'main', pipeline: { kind: 'default-branch' } });
    const { r } = run;
    main = r;
    expect(status(r)).toMatch(/^exit 0/);
    const a = imageOf(r, 'build-app', 'BUILD_APP');
    const t = imageOf(r, 'build-tools', 'BUILD_TOOLS');
    expect(a.image).toBe(`${app}@${a.digest}`);
    expect(t.image).toBe(`${tools}@${t.digest}`);
    mainApp = a.digest;
    mainTools = t.digest;
    expect(await registryState(app, authfile)).toEqual({ [sha8(r)]: a.digest, latest: a.digest });
    expect(await registryState(tools, authfile)).toEqual({ [sha8(r)]: t.digest, latest: t.digest });

    // test: make test, lint, package in the one container of exactly the pushed image
    const testLog = r.jobLog('test');
    expect(testLog).toContain(a.image);
    expect(testLog).toMatch(/Ran 4 tests/);
    expect(testLog).toContain('pyflakes3 app tests');
    expect(testLog).toContain('app/greet.py');
    const zip = path.join(r.dir, '.gitlab-ci-local', 'artifacts', 'test', 'app', 'dist', 'app.zip');
    expect(fs.existsSync(zip)).toBe(true);
    const listing = await runOk('python3', ['-m', 'zipfile', '-l', zip]);
    expect(listing.stdout).toContain('app/greet.py');

    // deploy: from the tool image, as the assumed role, the package's digest recorded
    const record = fs
      .readFileSync(path.join(r.dir, '.gitlab-ci-local', 'artifacts', 'deploy', 'deployments', 'record.txt'), 'utf8')
      .trim();
    const zipDigest = crypto.createHash('sha256').update(fs.readFileSync(zip)).digest('hex');
    const roleName = role.split('/').pop()!;
    expect(record).toMatch(
      new RegExp(`^staging ${zipDigest} arn:aws:sts::${bench.TB_ECR_ACCOUNT}:assumed-role/${roleName}/\\S+$`),
    );
    expect(r.jobLog('deploy')).toContain(t.image);
    expect(r.stdout).not.toMatch(/^deploy-review\s+starting/m);

    await expectNothingLeft(run, ['build-app', 'build-tools', 'test', 'deploy']);
  });

  const MR = String(100 + crypto.randomInt(800));
  let mrDir = '';

  test('merge request: MR-<iid> pushed for both images, deploy to review/<iid>; the stop job is manual', async () => {
    mrDir = path.join(work, 'mr');
    const run = await runSeed({ name: 'mr', pipeline: { kind: 'mr', mrIid: MR }, cwd: mrDir });
    const { r } = run;
    expect(status(r)).toMatch(/^exit 0/);
    const a = imageOf(r, 'build-app', 'BUILD_APP');
    const t = imageOf(r, 'build-tools', 'BUILD_TOOLS');
    const appState = await registryState(app, authfile);
    expect(appState[`MR-${MR}`]).toBe(a.digest);
    expect(appState.latest).toBe(mainApp); // untouched by the MR pipeline
    expect((await registryState(tools, authfile))[`MR-${MR}`]).toBe(t.digest);
    const record = fs.readFileSync(
      path.join(r.dir, '.gitlab-ci-local', 'artifacts', 'deploy-review', 'deployments', 'record.txt'),
      'utf8',
    );
    expect(record).toMatch(new RegExp(`^review/${MR} [0-9a-f]{64} arn:aws:sts::`));
    expect(r.stdout).not.toMatch(/^stop-review\s+starting/m); // manual: not run by the pipeline
    await expectNothingLeft(run, ['build-app', 'build-tools', 'test', 'deploy-review']);
  });

  test('stopping the review environment: untag removes MR-<iid> only; latest and the digest it shares stay', async () => {
    // The MR image promoted to `latest` of the app (what the seed warns about: a cleanup rule
    // must not take the image `latest` points at with it); the tools' latest stays the main one.
    const mrApp = (await registryDigest(`${app}:MR-${MR}`, authfile))!;
    await runOk('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--authfile',
      authfile,
      `docker://${app}:MR-${MR}`,
      `docker://${app}:latest`,
    ]);
    const run = await runSeed({
      name: 'mr-stop',
      pipeline: { kind: 'mr', mrIid: MR },
      cwd: mrDir,
      job: 'stop-review',
    });
    const { r } = run;
    expect(status(r)).toMatch(/^exit 0/);
    const log = r.jobLog('stop-review');
    expect(log).toContain(`${app}:MR-${MR}: deleted`);
    expect(log).toContain(`${tools}:MR-${MR}: deleted`);
    expect(await registryState(app, authfile)).toEqual({ [sha8(main)]: mainApp, latest: mrApp });
    expect(await registryState(tools, authfile)).toEqual({ [sha8(main)]: mainTools, latest: mainTools });
    await expectNothingLeft(run, ['stop-review']);

    // again: nothing to do, still green
    const again = await runSeed({
      name: 'mr-stop-again',
      pipeline: { kind: 'mr', mrIid: MR },
      cwd: mrDir,
      job: 'stop-review',
    });
    expect(status(again.r)).toMatch(/^exit 0/);
    expect(again.r.jobLog('stop-review')).toContain(`${app}:MR-${MR}: not there, nothing to do`);
    expect(await registryTags(app, authfile)).toEqual([sha8(main), 'latest'].sort());
  });

  test('tag pipeline: the tag on both images (latest not moved), deploy to production', async () => {
    const tag = 'v1.2.3';
    const before = await registryDigest(`${app}:latest`, authfile);
    const run = await runSeed({ name: 'tag', pipeline: { kind: 'tag', tag } });
    const { r } = run;
    expect(status(r)).toMatch(/^exit 0/);
    const a = imageOf(r, 'build-app', 'BUILD_APP');
    const t = imageOf(r, 'build-tools', 'BUILD_TOOLS');
    expect(await registryDigest(`${app}:${tag}`, authfile)).toBe(a.digest);
    expect(await registryDigest(`${tools}:${tag}`, authfile)).toBe(t.digest);
    expect(await registryDigest(`${app}:latest`, authfile)).toBe(before);
    const record = r.readFile('.gitlab-ci-local/artifacts/deploy/deployments/record.txt');
    expect(record).toMatch(/^production [0-9a-f]{64} arn:aws:sts::/);
    await expectNothingLeft(run, ['build-app', 'build-tools', 'test', 'deploy']);
  });

  test('a failing unit test: the pipeline is red, nothing deploys, the container is gone', async () => {
    const run = await runSeed({
      name: 'failing-test',
      pipeline: { kind: 'mr', mrIid: String(Number(MR) + 1) },
      files: {
        'app/tests/test_broken.py':
          'import unittest\n\nfrom app.greet import greeting\n\n\nclass BrokenTest(unittest.TestCase):\n    def test_shouts(self):\n        self.assertEqual(greeting("Ada"), "HELLO, ADA!")\n',
      },
    });
    const { r } = run;
    expect(r.exitCode).not.toBe(0);
    const log = r.jobLog('test');
    expect(log).toMatch(/FAIL: test_shouts/);
    expect(log).toMatch(/command failed with exit code 2: make test/);
    expect(log).not.toContain('pyflakes3 app tests'); // the first failure stops the rest
    expect(r.stdout).not.toMatch(/^deploy-review\s+starting/m);
    // the container the tests ran in is gone (the step's own remove, whatever failed)
    const container = /started container (shipline-\d+-[0-9a-f]+) of /.exec(log)?.[1];
    expect(container).toBeDefined();
    expect(await containersNamed([container!])).toEqual([]);
    await expectNothingLeft(run, ['build-app', 'build-tools', 'test']);
  });

  test('a build that fails: nothing pushed, no ECR credential left in any docker config', async () => {
    const dockerfile = fs.readFileSync(path.join(repoRoot, 'examples/seed-a/app/Dockerfile'), 'utf8');
    const run = await runSeed({
      name: 'failing-build',
      pipeline: { kind: 'mr', mrIid: String(Number(MR) + 2) },
      job: 'build-app',
      files: { 'app/Dockerfile': `${dockerfile}RUN python3 -c 'import sys; sys.exit("no such dependency")'\n` },
      variables: { APP_REPOSITORY: FAIL_REPO },
    });
    const { r } = run;
    expect(r.exitCode).not.toBe(0);
    const log = r.jobLog('build-app');
    expect(log).toContain('no such dependency');
    expect(log).toContain(`logged in to ${ECR}`); // the login happened, and was taken back
    expect(await registryTags(`${ECR}/${FAIL_REPO}`, authfile)).toEqual([]);
    expect(log).toContain(`removed ${ECR} from /tmp/shipline-`); // after_script took it back
    await expectNothingLeft(run, ['build-app']);
  });
});
