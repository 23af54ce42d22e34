// Seed B end to end: examples/seed-b as a user copies it (its .gitlab-ci.yml with only the
// include pins moved to this commit, its GitHub workflow unchanged). GitLab: gitlab-ci-local's
// docker executor, each job in the shipline job image of this checkout (buildah inside,
// seccomp unconfined). GitHub: the workflow harness, buildah on the host in a
// containers-storage of this test's own. The build is daemonless (kaniko-build) FROM the
// mmdebstrap Debian base held in the bench's open registry, pushed to the basic-auth registry
// with a Harbor-style docker config JSON held in a CI variable (GitLab: a variables file, raw
// JSON; GitHub: a secret, base64), never in argv. Default branch: `<short-sha>` at the digest
// the job reports (skopeo). Release tag: the tag at that same digest, no build job. A failing
// build: nothing pushed, no credential, run directory, job container or buildah image left;
// no secret in argv (this test's processes and job containers), logs or files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, runOk } from '../support/exec';
import { expectNoLeaks, notGclCreate, watchOwnCmdlines, type CmdlineSample } from '../support/canary';
import { GCL_DEFAULT_CI_REGISTRY, runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import {
  benchAuthFile,
  dockerConfigRegistries,
  pinIncludesToCommit,
  registryDigest,
  registryTags,
  removeRepository,
  seedFileTests,
  shiplineEntries,
} from '../support/seeds';
import { ensureJobImages, type JobImages } from '../support/job-image';
import { describeBench } from '../support/testbed';
import { runWorkflowJob, type UsesResolution, type WorkflowRunResult } from '../support/workflow';

jest.setTimeout(300_000);

const SEED = path.join(repoRoot, 'examples/seed-b');
const CI_FILE = path.join(SEED, '.gitlab-ci.yml');
const WORKFLOW = path.join(SEED, '.github/workflows/image.yml');
const LOCAL_BASE = 'local/debian:bookworm';
const KANIKO_BUILD = 'dist/kaniko-build/index.js';
const RETAG = 'dist/retag/index.js';
// The broken commit of the failure runs: a package Debian does not have.
const BREAK_BUILD = { Dockerfile: (t: string) => t.replace('python3-minimal', 'python3-minimal-no-such-package') };

type Edits = Record<string, string | ((old: string) => string)>;

/** The seed's files (what a checkout holds), with edits: path → new text, or a function of the old. */
function seedFiles(edits: Edits = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(SEED, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(SEED);
  delete out['.gitlab-ci.yml']; // runGitlabCiLocal writes it (ciYml)
  for (const [rel, edit] of Object.entries(edits)) out[rel] = typeof edit === 'string' ? edit : edit(out[rel] ?? '');
  return out;
}

const tail = (text: string, n = 60) => text.split('\n').slice(-n).join('\n');

// ------------------------------------------------------------------ static checks

describe('seed B files', () => {
  seedFileTests(CI_FILE, WORKFLOW);
  test('the Dockerfile builds FROM a BASE_IMAGE argument', () => {
    expect(fs.readFileSync(path.join(SEED, 'Dockerfile'), 'utf8')).toMatch(
      /^ARG BASE_IMAGE=debian:bookworm-slim\nFROM \$\{BASE_IMAGE\}$/m,
    );
  });
});

// ------------------------------------------------------------------ end to end

describeBench(['dockerd', 'registry-open', 'registry-basic'], 'seed B end to end', (tb) => {
  const runId = crypto.randomBytes(4).toString('hex');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-seed-b-'));
  const authfile = benchAuthFile(tb, root);
  const password = tb.TB_REGISTRY_BASIC_PASSWORD;
  // The Harbor-style credential: a docker config JSON with one `auths` entry.
  const credsJson = JSON.stringify({
    auths: {
      [tb.TB_REGISTRY_BASIC]: {
        auth: Buffer.from(`${tb.TB_REGISTRY_BASIC_USER}:${password}`).toString('base64'),
      },
    },
  });
  const credsB64 = Buffer.from(credsJson).toString('base64');
  const secrets = { password, credsJson, credsB64 };
  // The base FROM the open registry, where buildah pulls it (buildah has no docker engine).
  const base = `${tb.TB_REGISTRY_OPEN}/seed-b-${runId}/debian:bookworm`;
  const repos: string[] = [];
  const repoFor = (what: string) => {
    const repo = `${tb.TB_REGISTRY_BASIC}/seed-b-${runId}/${what}`;
    repos.push(repo);
    return repo;
  };
  const digestOf = async (ref: string) => (await registryDigest(ref, authfile)) ?? `(no ${ref})`;

  // buildah's containers-storage for this test alone (vfs, as in the shipline job image), so
  // its images are this test's: the runner's environment, not the pipeline's.
  const storage = path.join(root, 'storage');
  const storageConf = path.join(root, 'storage.conf');
  fs.mkdirSync(storage);
  fs.writeFileSync(
    storageConf,
    `[storage]\ndriver = "vfs"\ngraphroot = "${storage}/graph"\nrunroot = "${storage}/run"\n`,
  );
  const buildahEnv = { CONTAINERS_STORAGE_CONF: storageConf, STORAGE_DRIVER: 'vfs' };
  const buildah = (args: string[]) =>
    runOk('buildah', args, { env: { ...process.env, ...buildahEnv }, timeoutMs: 120_000 });

  /** What the builds left in buildah's storage: images other than the pulled base, and working containers. */
  async function buildahLeftovers(): Promise<{ images: string[]; containers: string[] }> {
    const images = (await buildah(['images', '--format', '{{.Name}}:{{.Tag}}'])).stdout
      .split('\n')
      .filter((l) => l && l !== base);
    const containers = (await buildah(['containers', '--format', '{{.ContainerName}}'])).stdout
      .split('\n')
      .filter(Boolean);
    return { images, containers };
  }

  let images: JobImages;
  beforeAll(async () => {
    // the Debian base (scripts/job-image base), the job image of this checkout and the helper, reused by content
    images = await ensureJobImages();
    await runOk('docker', ['image', 'tag', LOCAL_BASE, base]);
    await runOk('docker', ['push', '--quiet', base], { timeoutMs: 300_000 });
  }, 2_400_000);

  afterAll(async () => {
    for (const repo of repos) await removeRepository(repo, authfile);
    const baseRepo = base.slice(0, base.lastIndexOf(':'));
    const d = await registryDigest(base, authfile);
    if (d) await run('skopeo', ['delete', '--tls-verify=false', `docker://${baseRepo}@${d}`]);
    await run('docker', ['image', 'rm', base]);
    await run('buildah', ['rmi', '--all', '--force'], { env: { ...process.env, ...buildahEnv } });
    fs.rmSync(root, { recursive: true, force: true });
  });

  // ---------------------------------------------------------------- GitLab

  // The templates as they are when the file starts, written into each project (no dist/: the
  // job image holds the bundles), so the tag pipeline's commit is the one the default-branch
  // pipeline built even when another session regenerates the wrappers meanwhile.
  const templates = Object.fromEntries(
    fs
      .readdirSync(path.join(repoRoot, 'templates'))
      .map((f) => [`templates/${f}`, fs.readFileSync(path.join(repoRoot, 'templates', f), 'utf8')]),
  );

  /** The runner's environment: nothing CI-, shipline-, bench- or docker-config-related from the test process. */
  const runnerEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !/^(AWS_|CI_|GITLAB_|SHIPLINE_|TB_|DOCKER_CONFIG$|CONTAINERS_|STORAGE_)/.test(k))
        env[k] = v;
    return env;
  };

  /**
   * One pipeline under gitlab-ci-local's docker executor: each job in a container of the
   * templates' default image (the shipline job image of this checkout: buildah, vfs storage,
   * chroot isolation), host networking, seccomp unconfined (buildah unshares a user namespace,
   * which docker's default profile forbids: a runner's `security_opt`); the job containers'
   * /tmp is `jobTmp` on the host.
   */
  async function gitlab(pipeline: 'default-branch' | 'tag', repo: string, edits: Edits = {}) {
    const jobTmp = fs.mkdtempSync(path.join(root, 'job-tmp-'));
    const argv = watchOwnCmdlines({ containersMounting: jobTmp });
    let cmdlines: CmdlineSample[] = [];
    const r = await runGitlabCiLocal({
      ciYml: pinIncludesToCommit(fs.readFileSync(CI_FILE, 'utf8')),
      files: { ...templates, ...seedFiles(edits) },
      copy: [],
      pipeline: pipeline === 'tag' ? { kind: 'tag', tag: 'v1.2.3' } : 'default-branch',
      executor: 'docker',
      docker: {
        helperImage: images.helperImage,
        defaultImage: images.jobImage,
        volumes: [`${jobTmp}:/tmp`],
        securityOpt: ['seccomp=unconfined'],
      },
      variables: { SITE_IMAGE: repo, BASE_IMAGE: base },
      // the credential only in a variables file (as a CI/CD variable), never in argv
      fileVariables: { HARBOR_ROBOT_CREDS_JSON: credsJson },
      env: runnerEnv(),
      timeoutMs: 480_000,
    }).finally(async () => {
      cmdlines = await argv.stop();
    });
    return { r, jobTmp, cmdlines };
  }

  /**
   * The job ran in the default image (the job image), whose container is gone with buildah's
   * storage in it; after_script removed /tmp/shipline-<job id> (the DOCKER_CONFIG, the auth
   * file); nothing leaked.
   */
  async function expectCleanGitlab(
    r: GitlabRunResult,
    jobTmp: string,
    cmdlines: CmdlineSample[],
    job: string,
    bundle: string,
  ) {
    expect(new RegExp(`^${job}\\s+starting (\\S+) \\(`, 'm').exec(r.stdout)?.[1]).toBe(
      `${GCL_DEFAULT_CI_REGISTRY}/shipline/shipline/job:${r.sha}`,
    );
    expect(shiplineEntries(jobTmp)).toEqual([]);
    const left = await run('docker', ['ps', '-aq', '--filter', `volume=${jobTmp}`]);
    expect(left.stdout.trim()).toBe('');
    expect(r.args.join('\n')).not.toContain(password);
    // the watcher saw the step's own process (so it saw the job's processes at all)
    expect(cmdlines.some((c) => c.argv.join(' ').includes(bundle))).toBe(true);
    expectNoLeaks({
      secrets,
      texts: { stdout: r.stdout, stderr: r.stderr, log: r.jobLog(job) },
      dirs: [r.dir, jobTmp],
      cmdlines: notGclCreate(cmdlines),
    });
  }

  const glRepo = () => repoFor('site');
  let gitlabRepo = '';
  let gitlabBuilt: { sha: string; digest: string } | undefined;

  test('GitLab, default branch: kaniko-build (buildah) pushes <short-sha> with the JSON credential; no promote', async () => {
    gitlabRepo = glRepo();
    const { r, jobTmp, cmdlines } = await gitlab('default-branch', gitlabRepo);
    try {
      expect(`exit ${r.exitCode}\n${tail(r.stdout)}`).toMatch(/^exit 0/);
      expect(r.stdout).toMatch(/PASS\s+build-image/);
      expect(r.stdout).not.toMatch(/promote/);
      const log = r.jobLog('build-image');
      expect(log).toContain(`registry credentials for ${tb.TB_REGISTRY_BASIC} (variable HARBOR_ROBOT_CREDS_JSON)`);
      const sha8 = r.sha.slice(0, 8);
      const dotenv = r.dotenv('build-image')!;
      expect(dotenv).toMatchObject({ BUILD_IMAGE_TAGS: `${gitlabRepo}:${sha8}`, BUILD_IMAGE_BUILDER: 'buildah' });
      expect(dotenv.BUILD_IMAGE_DIGEST).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(dotenv.BUILD_IMAGE_IMAGE).toBe(`${gitlabRepo}@${dotenv.BUILD_IMAGE_DIGEST}`);
      expect(await registryTags(gitlabRepo, authfile)).toEqual([sha8]);
      expect(await digestOf(`${gitlabRepo}:${sha8}`)).toBe(dotenv.BUILD_IMAGE_DIGEST);
      gitlabBuilt = { sha: r.sha, digest: dotenv.BUILD_IMAGE_DIGEST! };
      await expectCleanGitlab(r, jobTmp, cmdlines, 'build-image', KANIKO_BUILD);
    } finally {
      r.cleanup();
    }
  });

  test('GitLab, release tag: promote retags <short-sha> → v1.2.3 at the same digest; no build job ran', async () => {
    expect(gitlabBuilt).toBeDefined();
    const { r, jobTmp, cmdlines } = await gitlab('tag', gitlabRepo);
    try {
      expect(`exit ${r.exitCode}\n${tail(r.stdout)}`).toMatch(/^exit 0/);
      // the same files, so the same commit as the default-branch pipeline
      expect(r.sha).toBe(gitlabBuilt!.sha);
      expect(r.stdout).toMatch(/PASS\s+promote/);
      expect(r.stdout).not.toMatch(/build-image/);
      expect(fs.existsSync(path.join(r.dir, '.gitlab-ci-local/output/build-image.log'))).toBe(false);
      const log = r.jobLog('promote');
      const sha8 = r.sha.slice(0, 8);
      expect(log).toContain(
        `logged in to ${tb.TB_REGISTRY_BASIC} as ${tb.TB_REGISTRY_BASIC_USER} (variable HARBOR_ROBOT_CREDS_JSON)`,
      );
      expect(log).toContain(`retag ${gitlabRepo}:${sha8} → ${gitlabRepo}:v1.2.3`);
      expect(r.dotenv('promote')).toMatchObject({
        PROMOTE_DIGEST: gitlabBuilt!.digest,
        PROMOTE_REFS: `${gitlabRepo}:v1.2.3`,
      });
      expect(await registryTags(gitlabRepo, authfile)).toEqual([sha8, 'v1.2.3'].sort());
      for (const t of [sha8, 'v1.2.3']) expect(await digestOf(`${gitlabRepo}:${t}`)).toBe(gitlabBuilt!.digest);
      await expectCleanGitlab(r, jobTmp, cmdlines, 'promote', RETAG);
    } finally {
      r.cleanup();
    }
  });

  test('GitLab, a failing build: the job fails, nothing is pushed, no credential or job container left', async () => {
    const repo = repoFor('broken');
    const { r, jobTmp, cmdlines } = await gitlab('default-branch', repo, BREAK_BUILD);
    try {
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout).toMatch(/FAIL\s+build-image/);
      const log = r.jobLog('build-image');
      expect(log).toMatch(/Unable to locate package python3-minimal-no-such-package/);
      // the credential had been written for the build: the failure came after it
      expect(log).toContain(`registry credentials for ${tb.TB_REGISTRY_BASIC} (variable HARBOR_ROBOT_CREDS_JSON)`);
      expect(await registryTags(repo, authfile)).toEqual([]);
      await expectCleanGitlab(r, jobTmp, cmdlines, 'build-image', KANIKO_BUILD);
    } finally {
      r.cleanup();
    }
  });

  // ---------------------------------------------------------------- GitHub

  function localShipline(uses: string): UsesResolution {
    if (/^actions\/checkout@[0-9a-f]{40}$/.test(uses)) return { skip: true };
    const m = /^shipline\/shipline\/components\/([\w-]+)@v1$/.exec(uses);
    if (!m) throw new Error(`not resolvable here: ${uses}`);
    return { actionDir: path.join(repoRoot, 'components', m[1]!) };
  }

  const PAYLOAD_REPO = {
    name: 'seed-b',
    full_name: 'shipline/seed-b',
    default_branch: 'main',
    owner: { login: 'shipline' },
  };

  async function github(job: 'build' | 'promote', sha: string, repo: string, edits: Edits = {}) {
    const home = fs.mkdtempSync(path.join(root, 'gh-'));
    const workspace = path.join(home, 'workspace');
    for (const [rel, text] of Object.entries(seedFiles(edits))) {
      fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
      fs.writeFileSync(path.join(workspace, rel), text);
    }
    // The runner user's docker config and temp dir: the job must leave them as it found them.
    const dockerConfig = path.join(home, 'docker');
    fs.mkdirSync(dockerConfig, { mode: 0o700 });
    const runnerTemp = path.join(home, 'runner-temp');
    fs.mkdirSync(runnerTemp);
    const tag = job === 'promote';
    const argv = watchOwnCmdlines();
    let cmdlines: CmdlineSample[] = [];
    const node = requireNode24();
    const r = await runWorkflowJob({
      workflow: WORKFLOW,
      job,
      workspace,
      event: {
        name: 'push',
        payload: { ref: tag ? 'refs/tags/v1.2.3' : 'refs/heads/main', after: sha, repository: PAYLOAD_REPO },
      },
      resolveUses: localShipline,
      ...(node ? { node } : {}),
      env: {
        HOME: home,
        DOCKER_CONFIG: dockerConfig,
        RUNNER_TEMP: runnerTemp,
        ...buildahEnv,
        GITHUB_SHA: sha,
        GITHUB_REPOSITORY: 'shipline/seed-b',
        GITHUB_REF: tag ? 'refs/tags/v1.2.3' : 'refs/heads/main',
        GITHUB_REF_NAME: tag ? 'v1.2.3' : 'main',
        GITHUB_REF_TYPE: tag ? 'tag' : 'branch',
      },
      vars: { SITE_IMAGE: repo, BASE_IMAGE: base },
      // the secret as base64 (the other shape the variable may hold)
      secrets: { HARBOR_ROBOT_CREDS_JSON: credsB64 },
    }).finally(async () => {
      cmdlines = await argv.stop();
    });
    return { r, cmdlines, dockerConfig, runnerTemp };
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

  /** Every post ran and passed; RUNNER_TEMP and the runner's docker config hold nothing of the job; nothing leaked. */
  async function expectCleanGithub(
    r: WorkflowRunResult,
    res: { cmdlines: CmdlineSample[]; dockerConfig: string; runnerTemp: string },
    posts: string[],
    bundle: string,
  ) {
    expect(r.posts.map((p) => `${p.name}: ${p.kind} ${p.exitCode}`)).toEqual(posts.map((p) => `Post ${p}: post 0`));
    expect(fs.readdirSync(res.runnerTemp)).toEqual([]);
    expect(dockerConfigRegistries(res.dockerConfig)).toEqual([]);
    expect(await buildahLeftovers()).toEqual({ images: [], containers: [] });
    expect(res.cmdlines.some((c) => c.argv.join(' ').includes(bundle))).toBe(true);
    expectNoLeaks({
      secrets,
      texts: { log: stepLog(r), summary: r.summary },
      dirs: [r.workspace, res.runnerTemp],
      cmdlines: res.cmdlines,
    });
  }

  const ghSha = crypto.randomBytes(20).toString('hex');
  let githubRepo = '';
  let githubDigest = '';

  test('GitHub, push to main: kaniko-build (buildah) pushes <short-sha> with the secret credential; posts clean up', async () => {
    githubRepo = repoFor('gh-site');
    const res = await github('build', ghSha, githubRepo);
    const { r } = res;
    try {
      expect(outcome(r)).toEqual({ ok: true, failed: [], log: '' });
      const build = r.steps.find((s) => s.id === 'image')!;
      const sha7 = ghSha.slice(0, 7);
      expect(build.outputs).toMatchObject({ tags: `${githubRepo}:${sha7}`, builder: 'buildah' });
      expect(build.outputs.image).toBe(`${githubRepo}@${build.outputs.digest}`);
      expect(await registryTags(githubRepo, authfile)).toEqual([sha7]);
      expect(await digestOf(`${githubRepo}:${sha7}`)).toBe(build.outputs.digest);
      expect(r.steps.find((s) => s.name.startsWith('echo "pushed'))?.stdout).toContain(`at ${build.outputs.digest}`);
      githubDigest = build.outputs.digest!;
      await expectCleanGithub(r, res, ['shipline/shipline/components/kaniko-build@v1'], KANIKO_BUILD);
    } finally {
      r.cleanup();
    }
  });

  test('GitHub, push of tag v1.2.3: registry-login + retag promote <short-sha> at the same digest; no build', async () => {
    expect(githubDigest).toMatch(/^sha256:/);
    const res = await github('promote', ghSha, githubRepo);
    const { r } = res;
    try {
      expect(outcome(r)).toEqual({ ok: true, failed: [], log: '' });
      expect(r.steps.map((s) => s.name)).not.toContain('shipline/shipline/components/kaniko-build@v1');
      const sha7 = ghSha.slice(0, 7);
      const promote = r.steps.find((s) => s.id === 'promote')!;
      expect(promote.outputs).toMatchObject({ digest: githubDigest, refs: `${githubRepo}:v1.2.3` });
      expect(await registryTags(githubRepo, authfile)).toEqual([sha7, 'v1.2.3'].sort());
      for (const t of [sha7, 'v1.2.3']) expect(await digestOf(`${githubRepo}:${t}`)).toBe(githubDigest);
      // registry-login's post gave the job its own DOCKER_CONFIG back
      expect(r.env.DOCKER_CONFIG).toBe(res.dockerConfig);
      await expectCleanGithub(r, res, ['shipline/shipline/components/registry-login@v1'], RETAG);
    } finally {
      r.cleanup();
    }
  });

  test('GitHub, a failing build: the step fails, nothing is pushed, no credential or buildah image left', async () => {
    const repo = repoFor('gh-broken');
    const res = await github('build', crypto.randomBytes(20).toString('hex'), repo, BREAK_BUILD);
    const { r } = res;
    try {
      expect(r.ok).toBe(false);
      expect(outcome(r).failed).toEqual(['shipline/shipline/components/kaniko-build@v1']);
      const build = r.steps.find((s) => s.id === 'image')!;
      expect(build.stdout + build.stderr).toMatch(/Unable to locate package python3-minimal-no-such-package/);
      expect(r.steps.find((s) => s.name.startsWith('echo "pushed'))?.kind).toBe('skipped');
      expect(await registryTags(repo, authfile)).toEqual([]);
      await expectCleanGithub(r, res, ['shipline/shipline/components/kaniko-build@v1'], KANIKO_BUILD);
    } finally {
      r.cleanup();
    }
  });
});
