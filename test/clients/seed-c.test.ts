// Seed C end to end: examples/seed-c as a user copies it (its .gitlab-ci.yml with only the
// include pins moved to this commit, its GitHub workflow unchanged). GitLab: gitlab-ci-local's
// docker executor, each job in the shipline job image of this checkout with the engine's
// socket; GitHub: the workflow harness on the host. Both build on the bench's engine (the
// classic builder) FROM the mmdebstrap Debian base (BASE_IMAGE) and push to the basic-auth
// registry. Default branch and merge/pull request: the smoke-test stage passes before
// anything is pushed, the tags are at the digest the job reports (skopeo), packages.lock is
// copied out as an artifact. A failing smoke test pushes nothing. The schedule refreshes the
// lock (PKG_VERSIONS=refresh, over a stale committed lock) and offers it as an artifact,
// pushing nothing. Every run: no temporary image or container, no untagged image of the
// run's builds, no run directory, no credential left; no secret in argv (this test's
// processes and job containers), logs or files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot, run } from '../support/exec';
import { expectNoLeaks, notGclCreate, watchOwnCmdlines, type CmdlineSample } from '../support/canary';
import { runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import {
  benchAuthFile,
  danglingImages,
  danglingImagesOf,
  dockerConfigRegistries,
  pinIncludesToCommit,
  registryDigest,
  registryTags,
  removeLocalImages,
  removeRepository,
  seedFileTests,
  shiplineEntries,
} from '../support/seeds';
import { ensureJobImages, type JobImages } from '../support/job-image';
import { describeBench } from '../support/testbed';
import { runWorkflowJob, type UsesResolution, type WorkflowRunResult } from '../support/workflow';

jest.setTimeout(300_000);

const SEED = path.join(repoRoot, 'examples/seed-c');
const CI_FILE = path.join(SEED, '.gitlab-ci.yml');
const WORKFLOW = path.join(SEED, '.github/workflows/image.yml');
const BASE = 'local/debian:bookworm';
const PACKAGES = fs.readFileSync(path.join(SEED, 'packages.txt'), 'utf8').split('\n').filter(Boolean);
const COMMITTED_LOCK = fs.readFileSync(path.join(SEED, 'packages.lock'), 'utf8');
// A lock no Debian mirror answers: the refresh must replace every line of it.
const STALE_LOCK = PACKAGES.map((p) => `${p}=0.0-stale`).join('\n') + '\n';
// The broken commit of the failure runs: the app's test now expects a wrong report.
const BREAK_TEST = {
  'tests/test_report.py': (t: string) => t.replace('2/3 builds passed', '3/3 builds passed'),
};
const BUILD_PUSH = 'dist/build-push/index.js';

type Edits = Record<string, string | ((old: string) => string)>;

/** The seed's files (what a checkout holds), with edits: path → new text, or a function of the old. */
function seedFiles(edits: Edits = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '__pycache__') walk(p);
      } else out[path.relative(SEED, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(SEED);
  delete out['.gitlab-ci.yml']; // runGitlabCiLocal writes it (ciYml)
  for (const [rel, edit] of Object.entries(edits)) out[rel] = typeof edit === 'string' ? edit : edit(out[rel] ?? '');
  return out;
}

const tail = (text: string, n = 60) => text.split('\n').slice(-n).join('\n');

// ------------------------------------------------------------------ what a run left

/** build-push's temporaries named in a log (`shipline-build-push-<10 hex>`) that still exist. */
async function leftTemporaries(log: string): Promise<string[]> {
  const left: string[] = [];
  for (const id of new Set(log.match(/shipline-build-push-[0-9a-f]{10}/g) ?? [])) {
    for (const image of [`${id}:smoke`, `${id}:build`])
      if ((await run('docker', ['image', 'inspect', image])).code === 0) left.push(image);
    if ((await run('docker', ['container', 'inspect', `${id}-extract`])).code === 0) left.push(`${id}-extract`);
  }
  return left;
}

/** The classic builder's RUN containers of a log (`Running in <id>`) that still exist. */
async function leftBuildContainers(log: string): Promise<string[]> {
  const left: string[] = [];
  for (const id of new Set([...log.matchAll(/Running in ([0-9a-f]{12})\b/g)].map((m) => m[1]!)))
    if ((await run('docker', ['container', 'inspect', id])).code === 0) left.push(id);
  return left;
}

/**
 * Untagged images of the run: what a build of the log produced (`Successfully built <id>`:
 * the smoke-test image, the target image) that still exists without a tag, and new dangling
 * images with the run's revision label (an image it tagged, then moved the tag off). The
 * intermediate layers of Docker's classic builder (the last layer of a stage the target does
 * not use, the last completed step of a failed build) are its layer cache, not counted.
 */
async function untaggedOfRun(before: Set<string>, log: string, revision: string): Promise<string[]> {
  const left: string[] = [];
  for (const id of new Set([...log.matchAll(/Successfully built ([0-9a-f]{12})\b/g)].map((m) => m[1]!))) {
    const r = await run('docker', ['image', 'inspect', '--format', '{{json .RepoTags}}', id]);
    if (r.code === 0 && !(JSON.parse(r.stdout) as string[] | null)?.length) left.push(`${id} (built, untagged)`);
  }
  for (const id of await danglingImagesOf(before, [revision])) left.push(`${id} (labelled ${revision})`);
  return left;
}

/** A lock of exactly packages.txt's packages, none at the stale version, each `name=<Debian version>`. */
function expectRefreshed(lock: string) {
  const lines = lock.trim().split('\n');
  expect(lines.map((l) => l.split('=')[0]).sort()).toEqual([...PACKAGES].sort());
  for (const l of lines) expect(l).toMatch(/^[a-z0-9.+-]+=[0-9][\w.+~:-]*$/);
  expect(lock).not.toContain('0.0-stale');
}

// ------------------------------------------------------------------ static checks

describe('seed C files', () => {
  seedFileTests(CI_FILE, WORKFLOW);
  test('the Dockerfile: BASE_IMAGE and PKG_VERSIONS global arguments, pinned/refresh stages, a lock of packages.txt', () => {
    const text = fs.readFileSync(path.join(SEED, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG BASE_IMAGE=debian:bookworm-slim$/m);
    expect(text).toMatch(/^ARG PKG_VERSIONS=pinned$/m);
    expect(text).toMatch(/^FROM pkg-\$\{PKG_VERSIONS\} AS pkg$/m);
    expect(
      COMMITTED_LOCK.trim()
        .split('\n')
        .map((l) => l.split('=')[0])
        .sort(),
    ).toEqual([...PACKAGES].sort());
  });
});

// ------------------------------------------------------------------ end to end

describeBench(['dockerd', 'registry-basic'], 'seed C end to end', (tb) => {
  const runId = crypto.randomBytes(4).toString('hex');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-seed-c-'));
  const password = tb.TB_REGISTRY_BASIC_PASSWORD;
  const authfile = benchAuthFile(tb, root);
  const repos: string[] = [];
  const repoFor = (what: string) => {
    const repo = `${tb.TB_REGISTRY_BASIC}/seed-c-${runId}/${what}`;
    repos.push(repo);
    return repo;
  };
  const digestOf = async (ref: string) => (await registryDigest(ref, authfile)) ?? `(no ${ref})`;

  let images: JobImages;
  beforeAll(async () => {
    // the Debian base (scripts/job-image base), the job image of this checkout and the helper, reused by content
    images = await ensureJobImages();
  }, 2_400_000);

  afterAll(async () => {
    for (const repo of repos) await removeRepository(repo, authfile);
    await removeLocalImages(repos);
    fs.rmSync(root, { recursive: true, force: true });
  });

  interface Watch {
    dangling: Set<string>;
    argv: { stop(): Promise<CmdlineSample[]> };
  }
  const startWatch = async (containersMounting?: string): Promise<Watch> => ({
    dangling: await danglingImages(),
    argv: watchOwnCmdlines(containersMounting ? { containersMounting } : {}),
  });

  /** Nothing of the run in the engine; the step's process was seen by the argv watcher. */
  async function expectNothingLeft(w: Watch, log: string, revision: string, cmdlines: CmdlineSample[]) {
    expect({
      temporaries: await leftTemporaries(log),
      buildContainers: await leftBuildContainers(log),
      untagged: await untaggedOfRun(w.dangling, log, revision),
    }).toEqual({ temporaries: [], buildContainers: [], untagged: [] });
    expect(cmdlines.some((c) => c.argv.join(' ').includes(BUILD_PUSH))).toBe(true);
  }

  // ---------------------------------------------------------------- GitLab

  /** The runner's environment: nothing CI-, shipline-, bench- or docker-config-related from the test process. */
  const runnerEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !/^(AWS_|CI_|GITLAB_|SHIPLINE_|TB_|DOCKER_CONFIG$)/.test(k)) env[k] = v;
    return env;
  };

  /**
   * One pipeline under gitlab-ci-local's docker executor: each job in a container of the
   * templates' default image (the shipline job image of this checkout), the engine's socket
   * mounted, host networking; the job containers' /tmp is `jobTmp` on the host.
   */
  async function gitlab(
    pipeline: { kind: 'default-branch' | 'mr'; mrIid?: string; schedule?: boolean },
    repo: string,
    edits: Edits = {},
  ) {
    const jobTmp = fs.mkdtempSync(path.join(root, 'job-tmp-'));
    const watch = await startWatch(jobTmp);
    let cmdlines: CmdlineSample[] = [];
    const r = await runGitlabCiLocal({
      ciYml: pinIncludesToCommit(fs.readFileSync(CI_FILE, 'utf8')),
      files: seedFiles(edits),
      pipeline: { kind: pipeline.kind, ...(pipeline.mrIid ? { mrIid: pipeline.mrIid } : {}) },
      executor: 'docker',
      docker: { helperImage: images.helperImage, defaultImage: images.jobImage, volumes: [`${jobTmp}:/tmp`] },
      variables: {
        CI_REGISTRY: tb.TB_REGISTRY_BASIC,
        CI_REGISTRY_IMAGE: repo,
        CI_REGISTRY_USER: tb.TB_REGISTRY_BASIC_USER,
        BASE_IMAGE: BASE,
        ...(pipeline.schedule ? { CI_PIPELINE_SOURCE: 'schedule' } : {}),
      },
      // the password only in a variables file, never in gitlab-ci-local's argv
      fileVariables: { CI_REGISTRY_PASSWORD: password },
      env: runnerEnv(),
      timeoutMs: 480_000,
    }).finally(async () => {
      cmdlines = await watch.argv.stop();
    });
    return { r, jobTmp, watch, cmdlines };
  }

  /**
   * The job ran in the default image (the job image); after_script removed its
   * /tmp/shipline-<job id> with the DOCKER_CONFIG and build-push's private config in it;
   * nothing leaked.
   */
  function expectCleanGitlab(r: GitlabRunResult, jobTmp: string, cmdlines: CmdlineSample[], job: string) {
    expect(new RegExp(`^${job}\\s+starting (\\S+) \\(`, 'm').exec(r.stdout)?.[1]).toBe(
      `${tb.TB_REGISTRY_BASIC}/shipline/shipline/job:${r.sha}`,
    );
    expect(shiplineEntries(jobTmp)).toEqual([]);
    expect(r.args.join('\n')).not.toContain(password);
    expectNoLeaks({
      secrets: { password },
      texts: { stdout: r.stdout, stderr: r.stderr, log: r.jobLog(job) },
      dirs: [r.dir, jobTmp],
      cmdlines: notGclCreate(cmdlines),
    });
  }

  test('GitLab, default branch: smoke test, then <short-sha> and latest at one digest; packages.lock as artifact', async () => {
    const repo = repoFor('gl-main');
    const { r, jobTmp, watch, cmdlines } = await gitlab({ kind: 'default-branch' }, repo);
    try {
      expect(`exit ${r.exitCode}\n${tail(r.stdout)}`).toMatch(/^exit 0/);
      expect(r.stdout).toMatch(/PASS\s+build-image/);
      expect(r.stdout).not.toMatch(/refresh-lock/);
      const log = r.jobLog('build-image');
      // the smoke-test stage was built, and its tests passed, before the target and any push
      const smoke = log.indexOf('Smoke test: build stage smoke-test');
      expect(smoke).toBeGreaterThan(-1);
      expect(log.slice(smoke)).toMatch(/Ran 2 tests[\s\S]*OK[\s\S]*Build target-image[\s\S]*Push 2 reference/);
      const sha8 = r.sha.slice(0, 8);
      const dotenv = r.dotenv('build-image')!;
      expect(dotenv.BUILD_IMAGE_TAGS).toBe(`${repo}:${sha8} ${repo}:latest`);
      expect(dotenv.BUILD_IMAGE_DIGEST).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(dotenv.BUILD_IMAGE_IMAGE).toBe(`${repo}@${dotenv.BUILD_IMAGE_DIGEST}`);
      expect(await registryTags(repo, authfile)).toEqual([sha8, 'latest'].sort());
      for (const t of [sha8, 'latest']) expect(await digestOf(`${repo}:${t}`)).toBe(dotenv.BUILD_IMAGE_DIGEST);
      // the lock the image was built from, copied out of it as the job's artifact
      expect(r.readFile('.gitlab-ci-local/artifacts/build-image/packages.lock')).toBe(COMMITTED_LOCK);
      await expectNothingLeft(watch, log, r.sha, cmdlines);
      expectCleanGitlab(r, jobTmp, cmdlines, 'build-image');
    } finally {
      r.cleanup();
    }
  });

  test('GitLab, merge request: MR-<iid> pushed after the smoke test; packages.lock as artifact', async () => {
    const repo = repoFor('gl-mr');
    const { r, jobTmp, watch, cmdlines } = await gitlab({ kind: 'mr', mrIid: '42' }, repo);
    try {
      expect(`exit ${r.exitCode}\n${tail(r.stdout)}`).toMatch(/^exit 0/);
      const log = r.jobLog('build-image');
      expect(log).toMatch(/Smoke test: build stage smoke-test[\s\S]*Ran 2 tests[\s\S]*Build target-image/);
      const dotenv = r.dotenv('build-image')!;
      expect(dotenv.BUILD_IMAGE_TAGS).toBe(`${repo}:MR-42`);
      expect(dotenv.BUILD_IMAGE_IMAGE).toBe(`${repo}@${dotenv.BUILD_IMAGE_DIGEST}`);
      expect(await registryTags(repo, authfile)).toEqual(['MR-42']);
      expect(await digestOf(`${repo}:MR-42`)).toBe(dotenv.BUILD_IMAGE_DIGEST);
      expect(r.readFile('.gitlab-ci-local/artifacts/build-image/packages.lock')).toBe(COMMITTED_LOCK);
      await expectNothingLeft(watch, log, r.sha, cmdlines);
      expectCleanGitlab(r, jobTmp, cmdlines, 'build-image');
    } finally {
      r.cleanup();
    }
  });

  test('GitLab, merge request whose test fails: the job fails, nothing is pushed, no temporary image left', async () => {
    const repo = repoFor('gl-broken');
    const { r, jobTmp, watch, cmdlines } = await gitlab({ kind: 'mr', mrIid: '43' }, repo, BREAK_TEST);
    try {
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout).toMatch(/FAIL\s+build-image/);
      const log = r.jobLog('build-image');
      expect(log).toMatch(/FAILED \(failures=1\)/);
      expect(log).toContain('smoke test failed, nothing was pushed');
      expect(log).not.toContain('Build target-image');
      expect(await registryTags(repo, authfile)).toEqual([]);
      expect(fs.existsSync(path.join(r.dir, '.gitlab-ci-local/artifacts/build-image/packages.lock'))).toBe(false);
      await expectNothingLeft(watch, log, r.sha, cmdlines);
      expectCleanGitlab(r, jobTmp, cmdlines, 'build-image');
    } finally {
      r.cleanup();
    }
  });

  // ---------------------------------------------------------------- GitHub

  function localShipline(uses: string): UsesResolution {
    if (/^actions\/(checkout|upload-artifact)@[0-9a-f]{40}$/.test(uses)) return { skip: true };
    const m = /^shipline\/shipline\/components\/([\w-]+)@v1$/.exec(uses);
    if (!m) throw new Error(`not resolvable here: ${uses}`);
    return { actionDir: path.join(repoRoot, 'components', m[1]!) };
  }

  const PAYLOAD_REPO = {
    name: 'seed-c',
    full_name: 'shipline/seed-c',
    default_branch: 'main',
    owner: { login: 'shipline' },
  };

  async function github(
    job: 'image' | 'refresh-lock',
    event: 'push' | 'pull_request' | 'schedule',
    repo: string,
    edits: Edits = {},
  ) {
    const home = fs.mkdtempSync(path.join(root, 'gh-'));
    const workspace = path.join(home, 'workspace');
    for (const [rel, text] of Object.entries(seedFiles(edits))) {
      fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
      fs.writeFileSync(path.join(workspace, rel), text);
    }
    // The runner user's docker config: the job must leave it as it found it (empty).
    const dockerConfig = path.join(home, 'docker');
    fs.mkdirSync(dockerConfig, { mode: 0o700 });
    const runnerTemp = path.join(home, 'runner-temp');
    fs.mkdirSync(runnerTemp);
    const sha = crypto.randomBytes(20).toString('hex');
    const ref =
      event === 'pull_request'
        ? {
            GITHUB_REF: 'refs/pull/42/merge',
            GITHUB_REF_NAME: '42/merge',
            GITHUB_HEAD_REF: 'feature/x',
            GITHUB_BASE_REF: 'main',
          }
        : { GITHUB_REF: 'refs/heads/main', GITHUB_REF_NAME: 'main' };
    const payload =
      event === 'pull_request'
        ? {
            number: 42,
            pull_request: { number: 42, head: { ref: 'feature/x', sha }, base: { ref: 'main' } },
            repository: PAYLOAD_REPO,
          }
        : event === 'push'
          ? { ref: 'refs/heads/main', after: sha, repository: PAYLOAD_REPO }
          : { schedule: '0 5 * * 1', repository: PAYLOAD_REPO };
    const watch = await startWatch();
    let cmdlines: CmdlineSample[] = [];
    const node = requireNode24();
    const r = await runWorkflowJob({
      workflow: WORKFLOW,
      job,
      workspace,
      event: { name: event, payload },
      resolveUses: localShipline,
      ...(node ? { node } : {}),
      env: {
        HOME: home,
        DOCKER_CONFIG: dockerConfig,
        RUNNER_TEMP: runnerTemp,
        GITHUB_SHA: sha,
        GITHUB_REPOSITORY: 'shipline/seed-c',
        GITHUB_REF_TYPE: 'branch',
        ...ref,
      },
      vars: { IMAGE: repo, REGISTRY_USER: tb.TB_REGISTRY_BASIC_USER, BASE_IMAGE: BASE },
      secrets: { REGISTRY_PASSWORD: password },
    }).finally(async () => {
      cmdlines = await watch.argv.stop();
    });
    return { r, sha, watch, cmdlines, dockerConfig };
  }

  const stepLog = (r: WorkflowRunResult) =>
    [...r.steps, ...r.posts]
      .map((s) => `--- ${s.name} (${s.kind}, exit ${s.exitCode})\n${s.stdout}${s.stderr}`)
      .join('\n');
  const outcome = (r: WorkflowRunResult) => ({
    ok: r.ok,
    failed: [...r.steps, ...r.posts].filter((s) => s.exitCode !== 0).map((s) => s.name),
    log: r.ok ? '' : tail(stepLog(r)),
  });
  const buildStep = (r: WorkflowRunResult) =>
    r.steps.find((s) => s.name === 'shipline/shipline/components/build-push@v1')!;

  /** The posts ran; the runner's temp dir and docker config hold nothing of the job; nothing leaked. */
  function expectCleanGithub(r: WorkflowRunResult, dockerConfig: string, cmdlines: CmdlineSample[]) {
    const temp = path.join(path.dirname(r.workspace), 'runner-temp'); // RUNNER_TEMP of the job
    expect(r.posts.map((p) => `${p.name}: ${p.kind} ${p.exitCode}`)).toEqual([
      'Post shipline/shipline/components/build-push@v1: post 0',
    ]);
    expect(fs.readdirSync(temp)).toEqual([]);
    expect(dockerConfigRegistries(dockerConfig)).toEqual([]);
    expectNoLeaks({
      secrets: { password },
      texts: { log: stepLog(r), summary: r.summary },
      dirs: [r.workspace, temp],
      cmdlines,
    });
  }

  test('GitHub, push to main: smoke test, then <short-sha> and latest at one digest; packages.lock in the workspace', async () => {
    const repo = repoFor('gh-main');
    const { r, sha, watch, cmdlines, dockerConfig } = await github('image', 'push', repo);
    try {
      expect(outcome(r)).toEqual({ ok: true, failed: [], log: '' });
      const build = buildStep(r);
      expect(build.stdout).toMatch(/Smoke test: build stage smoke-test[\s\S]*Ran 2 tests[\s\S]*Build target-image/);
      const sha8 = sha.slice(0, 8);
      expect(build.outputs.tags!.split('\n')).toEqual([`${repo}:${sha8}`, `${repo}:latest`]);
      expect(build.outputs.image).toBe(`${repo}@${build.outputs.digest}`);
      expect(await registryTags(repo, authfile)).toEqual([sha8, 'latest'].sort());
      for (const t of [sha8, 'latest']) expect(await digestOf(`${repo}:${t}`)).toBe(build.outputs.digest);
      expect(fs.readFileSync(path.join(r.workspace, 'packages.lock'), 'utf8')).toBe(COMMITTED_LOCK);
      expect(r.steps.find((s) => s.name.startsWith('echo "pushed'))?.stdout).toContain(`at ${build.outputs.digest}`);
      await expectNothingLeft(watch, build.stdout + build.stderr, sha, cmdlines);
      expectCleanGithub(r, dockerConfig, cmdlines);
    } finally {
      r.cleanup();
    }
  });

  test('GitHub, pull request: MR-<number> pushed after the smoke test; packages.lock in the workspace', async () => {
    const repo = repoFor('gh-pr');
    const { r, sha, watch, cmdlines, dockerConfig } = await github('image', 'pull_request', repo);
    try {
      expect(outcome(r)).toEqual({ ok: true, failed: [], log: '' });
      const build = buildStep(r);
      expect(build.stdout).toMatch(/Smoke test: build stage smoke-test[\s\S]*Ran 2 tests[\s\S]*Build target-image/);
      expect(build.outputs.tags).toBe(`${repo}:MR-42`);
      expect(build.outputs.image).toBe(`${repo}@${build.outputs.digest}`);
      expect(await registryTags(repo, authfile)).toEqual(['MR-42']);
      expect(await digestOf(`${repo}:MR-42`)).toBe(build.outputs.digest);
      expect(fs.readFileSync(path.join(r.workspace, 'packages.lock'), 'utf8')).toBe(COMMITTED_LOCK);
      await expectNothingLeft(watch, build.stdout + build.stderr, sha, cmdlines);
      expectCleanGithub(r, dockerConfig, cmdlines);
    } finally {
      r.cleanup();
    }
  });

  test('GitHub, pull request whose test fails: the step fails, nothing is pushed, no temporary image left', async () => {
    const repo = repoFor('gh-broken');
    const { r, sha, watch, cmdlines, dockerConfig } = await github('image', 'pull_request', repo, BREAK_TEST);
    try {
      expect(r.ok).toBe(false);
      expect(outcome(r).failed).toEqual(['shipline/shipline/components/build-push@v1']);
      const build = buildStep(r);
      expect(build.stdout + build.stderr).toContain('smoke test failed, nothing was pushed');
      // the steps after it did not run
      expect(r.steps.find((s) => s.name.startsWith('echo "pushed'))?.kind).toBe('skipped');
      expect(await registryTags(repo, authfile)).toEqual([]);
      // nothing was extracted over the checkout's lock
      expect(fs.readFileSync(path.join(r.workspace, 'packages.lock'), 'utf8')).toBe(COMMITTED_LOCK);
      await expectNothingLeft(watch, build.stdout + build.stderr, sha, cmdlines);
      expectCleanGithub(r, dockerConfig, cmdlines);
    } finally {
      r.cleanup();
    }
  });

  // ---------------------------------------------------------------- the schedules, last: a refresh
  // build's cleanup takes the classic builder's cache of the pkg-refresh stage with it

  test('GitLab, schedule: the refreshed lock (PKG_VERSIONS=refresh, tested) as artifact over a stale one; nothing pushed', async () => {
    const repo = repoFor('gl-schedule');
    const { r, jobTmp, watch, cmdlines } = await gitlab({ kind: 'default-branch', schedule: true }, repo, {
      'packages.lock': STALE_LOCK,
    });
    try {
      expect(`exit ${r.exitCode}\n${tail(r.stdout)}`).toMatch(/^exit 0/);
      expect(r.stdout).toMatch(/PASS\s+refresh-lock/);
      expect(r.stdout).not.toMatch(/build-image/);
      const log = r.jobLog('refresh-lock');
      expect(log).toContain('PKG_VERSIONS=refresh: pkg-pinned not used');
      expect(log).toMatch(/Ran 2 tests[\s\S]*OK/);
      expectRefreshed(r.readFile('.gitlab-ci-local/artifacts/refresh-lock/packages.lock'));
      expect(r.dotenv('refresh-lock')).toMatchObject({ REFRESH_LOCK_DIGEST: '', REFRESH_LOCK_TAGS: '' });
      expect(await registryTags(repo, authfile)).toEqual([]);
      await expectNothingLeft(watch, log, r.sha, cmdlines);
      expectCleanGitlab(r, jobTmp, cmdlines, 'refresh-lock');
    } finally {
      r.cleanup();
    }
  });

  test('GitHub, schedule: the refreshed lock where upload-artifact takes it, over a stale one; nothing pushed', async () => {
    const repo = repoFor('gh-schedule');
    const { r, sha, watch, cmdlines, dockerConfig } = await github('refresh-lock', 'schedule', repo, {
      'packages.lock': STALE_LOCK,
    });
    try {
      expect(outcome(r)).toEqual({ ok: true, failed: [], log: '' });
      const wf = parseYaml(fs.readFileSync(WORKFLOW, 'utf8')) as {
        jobs: Record<string, { steps: { uses?: string; with?: Record<string, string> }[] }>;
      };
      const upload = wf.jobs['refresh-lock']!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
      expectRefreshed(fs.readFileSync(path.join(r.workspace, upload.with!.path!), 'utf8'));
      const build = buildStep(r);
      expect(build.stdout).toMatch(/PKG_VERSIONS=refresh: pkg-pinned not used[\s\S]*Ran 2 tests[\s\S]*OK/);
      expect(build.outputs.tags).toBe('');
      expect(await registryTags(repo, authfile)).toEqual([]);
      await expectNothingLeft(watch, build.stdout + build.stderr, sha, cmdlines);
      expectCleanGithub(r, dockerConfig, cmdlines);
    } finally {
      r.cleanup();
    }
  });
});
