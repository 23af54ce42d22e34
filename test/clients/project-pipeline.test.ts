// shipline's own .gitlab-ci.yml (#14 item 3): valid for GitLab's schema and GitLab's
// include-inputs rule, and run under gitlab-ci-local 4.73: which jobs a branch pipeline and a
// version tag pipeline hold (--list-json, rules evaluated), what the includes expand to
// (--preview), the self-test jobs really run on the shell executor, and so do the image and
// release stages against the bench's engine and token registry: job-image builds and pushes the
// job image, a 1.2.3 tag pipeline's promote-job-image retags it and release-notes runs (the
// release job itself only through --preview: release-cli's image cannot be pulled offline).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot, run, runOk } from '../support/exec';
import { GITLAB_REMOTE, runGitlabCiLocal, type GitlabRunResult, type PipelineSpec } from '../support/gitlab';
import { validateGitlabCi } from '../support/schema';
import { describeBench } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { writeBenchDockerConfig } from '../support/retag-images';
import { ensureJobImages } from '../support/job-image';

jest.setTimeout(300_000);

const CI_FILE = path.join(repoRoot, '.gitlab-ci.yml');
const ciText = fs.readFileSync(CI_FILE, 'utf8');

interface PreviewJob {
  stage: string;
  image?: { name: string };
  variables?: Record<string, string>;
  services?: { name: string; alias?: string }[];
  rules?: { if?: string }[];
  needs?: { job: string }[];
  script?: string[];
  release?: { tag_name: string; description: string };
}

const BRANCH_JOBS = ['test', 'self-test-image-tags', 'self-test-check', 'job-image'];
const RELEASE_JOBS = ['promote-job-image', 'release-notes', 'release'];

// Named on the command line: without `needs:`, --needs would also run the earlier stages (test).
const SELF_TEST = ['self-test-image-tags', 'self-test-check'];

const status = (r: GitlabRunResult) => `exit ${r.exitCode}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

/** The jobs gitlab-ci-local would run in this pipeline (rules evaluated: `when` not never). */
async function jobsOf(pipeline: PipelineSpec): Promise<string[]> {
  const r = await runGitlabCiLocal({ ciYml: ciText, pipeline, extraArgs: ['--list-json'] });
  try {
    expect(status(r)).toMatch(/^exit 0/);
    const jobs = JSON.parse(r.stdout) as { name: string; when: string }[];
    return jobs
      .filter((j) => j.when !== 'never')
      .map((j) => j.name)
      .sort();
  } finally {
    r.cleanup();
  }
}

async function previewOf(pipeline: PipelineSpec): Promise<{ jobs: Record<string, PreviewJob>; sha: string }> {
  const r = await runGitlabCiLocal({ ciYml: ciText, pipeline, extraArgs: ['--preview'] });
  try {
    expect(status(r)).toMatch(/^exit 0/);
    const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: r.dir })).stdout.trim();
    return { jobs: parseYaml(r.stdout) as Record<string, PreviewJob>, sha };
  } finally {
    r.cleanup();
  }
}

test('GitLab’s schema accepts it', () => {
  const result = validateGitlabCi(ciText);
  expect(result.errors).toEqual([]);
  expect(result.ok).toBe(true);
});

test('scripts/check-includes.mjs accepts its includes (GitLab’s input rule), job names are distinct', async () => {
  const r = await run(process.execPath, [path.join(repoRoot, 'scripts/check-includes.mjs'), CI_FILE]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const doc = parseYaml(ciText) as { include: { component: string; inputs: Record<string, unknown> }[] };
  const names = doc.include.map((i) => i.inputs['job-name']);
  expect(new Set(names).size).toBe(names.length);
  for (const inc of doc.include)
    expect(inc.component).toMatch(/^\$CI_SERVER_FQDN\/\$CI_PROJECT_PATH\/[\w-]+@\$CI_COMMIT_SHA$/);
});

describe('under gitlab-ci-local', () => {
  test('a branch pipeline: tests, self-test, job image; nothing of the release', async () => {
    expect(await jobsOf({ kind: 'branch', branch: 'feature/x' })).toEqual([...BRANCH_JOBS].sort());
  });

  test('a version tag pipeline: also the image promoted with retag and the release', async () => {
    expect(await jobsOf({ kind: 'tag', tag: '1.2.3' })).toEqual([...BRANCH_JOBS, ...RELEASE_JOBS].sort());
  });

  test('a tag that is not a version (v1.2.3) releases nothing', async () => {
    expect(await jobsOf({ kind: 'tag', tag: 'v1.2.3' })).toEqual([...BRANCH_JOBS].sort());
  });

  test('--preview (tag 1.2.3): the includes at this commit, with their inputs and the merged keys', async () => {
    const { jobs, sha } = await previewOf({ kind: 'tag', tag: '1.2.3' });
    for (const name of [...BRANCH_JOBS, ...RELEASE_JOBS]) expect(Object.keys(jobs)).toContain(name);

    const self = jobs['self-test-image-tags']!;
    expect(self.stage).toBe('self-test');
    expect(self.variables?.SHIPLINE_REF).toBe(sha); // component.sha: this very commit
    expect(self.image?.name).toBe('$SHIPLINE_BOOTSTRAP_IMAGE');

    const image = jobs['job-image']!;
    expect(image.stage).toBe('image');
    expect(image.image?.name).toBe('$SHIPLINE_BOOTSTRAP_IMAGE');
    expect(image.variables).toMatchObject({
      SHIPLINE_STEP: 'build-push',
      SHIPLINE_REF: sha,
      SHIPLINE_INPUT_FILE: 'Dockerfile',
      SHIPLINE_INPUT_IMAGES: '$CI_REGISTRY_IMAGE/job',
      SHIPLINE_INPUT_TAGS: 'type=raw,value=$CI_COMMIT_SHA',
      SHIPLINE_INPUT_LATEST: 'false',
      // bare names: the job variables' values, or the Dockerfile's defaults when unset
      SHIPLINE_INPUT_BUILD_ARGS: 'BASE\nNODE_IMAGE\nNODE_BIN\nDOCKER_CLI_IMAGE\nDOCKER_CLI_PLUGINS\nKANIKO_IMAGE\n',
      SHIPLINE_INPUT_NETWORK: '$JOB_IMAGE_NETWORK',
      DOCKER_HOST: 'tcp://docker:2375',
      // the name the templates of this commit default to, with shipline-project = this project
      SHIPLINE_DEFAULT_IMAGE: '$CI_REGISTRY/$CI_PROJECT_PATH/job:' + sha,
    });
    expect(image.services).toEqual([{ name: '$JOB_IMAGE_DIND', alias: 'docker' }]);
    expect((parseYaml(ciText) as { variables: Record<string, string> }).variables.JOB_IMAGE_DIND).toBe(
      'docker:27-dind',
    );

    const promote = jobs['promote-job-image']!;
    expect(promote.stage).toBe('release');
    expect(promote.image?.name).toBe('$SHIPLINE_DEFAULT_IMAGE'); // the image this pipeline built
    expect(promote.variables).toMatchObject({
      SHIPLINE_STEP: 'retag',
      SHIPLINE_INPUT_SOURCE: '$CI_REGISTRY_IMAGE/job:$CI_COMMIT_SHA',
      SHIPLINE_INPUT_TAGS: '$CI_COMMIT_TAG',
    });
    expect(promote.rules).toEqual([{ if: '$CI_COMMIT_TAG =~ /^\\d+\\.\\d+\\.\\d+$/' }]);

    expect(jobs['release-notes']!.script).toEqual([
      'node scripts/release.mjs notes "$CI_COMMIT_TAG" > release-notes.md',
    ]);
    expect(jobs.release!.release).toMatchObject({ tag_name: '$CI_COMMIT_TAG', description: './release-notes.md' });
    expect(jobs.release!.needs?.map((n) => n.job)).toEqual(['release-notes', 'promote-job-image']);
  });

  test('the self-test jobs run: image-tags of this commit, and the check of its dotenv output', async () => {
    const r = await runGitlabCiLocal({
      ciYml: ciText,
      pipeline: { kind: 'branch', branch: 'feature/x' },
      job: SELF_TEST,
    });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: r.dir })).stdout.trim();
      const want = `registry.example.com/shipline/self-test:self-test,registry.example.com/shipline/self-test:sha-${sha}`;
      expect(r.dotenv('self-test-image-tags')?.SELF_TEST_IMAGE_TAGS_TAGS).toBe(want);
      expect(r.jobLog('self-test-check')).toContain(`SELF_TEST_IMAGE_TAGS_TAGS=${want}`);
    } finally {
      r.cleanup();
    }
  });

  test('in an image without shipline, self-test fetches this commit’s dist/ from this project', async () => {
    // The job's fetch ($CI_SERVER_URL/$CI_PROJECT_PATH.git at component.sha) is served by the
    // pipeline's own repository through a git insteadOf rewrite. gitlab-ci-local reads the
    // project from `gcl-origin` first, written so that the rewrite does not apply to it.
    const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-self-fetch-'));
    const dir = path.join(outer, 'project');
    fs.mkdirSync(dir);
    await runOk('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    await runOk('git', ['remote', 'add', 'origin', GITLAB_REMOTE], { cwd: dir });
    await runOk('git', ['remote', 'add', 'gcl-origin', GITLAB_REMOTE.replace(/\.git$/, '')], { cwd: dir });
    const gitConfig = path.join(outer, 'gitconfig');
    fs.writeFileSync(
      gitConfig,
      `[user]\n\tname = Shipline Test\n\temail = test@example.com\n` +
        `[url "file://${dir}"]\n\tinsteadOf = ${GITLAB_REMOTE}\n[uploadpack]\n\tallowAnySHA1InWant = true\n\tallowFilter = true\n`,
    );
    const r = await runGitlabCiLocal({
      ciYml: ciText,
      cwd: dir,
      pipeline: { kind: 'branch', branch: 'feature/x' },
      job: SELF_TEST,
      shiplineHome: null,
      env: { ...process.env, GIT_CONFIG_GLOBAL: gitConfig },
    });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
      expect(r.dotenv('self-test-image-tags')?.SELF_TEST_IMAGE_TAGS_TAGS).toBe(
        `registry.example.com/shipline/self-test:self-test,registry.example.com/shipline/self-test:sha-${sha}`,
      );
    } finally {
      r.cleanup();
      fs.rmSync(outer, { recursive: true, force: true });
    }
  });
});

// The image and release stages really run, on gitlab-ci-local's shell executor: job-image's
// dind service (privileged, and its image cannot be pulled offline) cannot run here, so it is
// emptied (JOB_IMAGE_DIND) and the job's docker CLI talks to the bench's engine (DOCKER_HOST
// overridden); SHIPLINE_HOME stands in for the bootstrap image's shipline. CI_REGISTRY* point
// at the bench's token registry under a repository of this run; the password comes in a
// variables file, never argv. The Dockerfile's bases are the local images scripts/job-image
// makes (BASE / NODE_IMAGE as the CI/CD variables a project would set), its RUN steps on the
// host network (JOB_IMAGE_NETWORK: the bench engine has no bridge): the build scripts/job-image
// runs, so docker's layer cache of this checkout's job image (same Dockerfile, bases and
// dist/) serves the pipeline's build up to the labels of its commit.
describeBench(['docker', 'registry-token', 'token-server'], 'the image and release stages, run for real', (bench) => {
  const runId = crypto.randomBytes(4).toString('hex');
  const registryImage = `${bench.TB_REGISTRY_TOKEN}/project-pipeline-${runId}/shipline`;
  const repo = `${registryImage}/job`;
  // Made in beforeAll: a run filtered to other tests (-t) runs no afterAll here to remove them.
  let tmp = '';
  let home = '';
  let auth = { dir: '', path: '' };
  const dockerEnv = { ...process.env, DOCKER_HOST: bench.TB_DOCKER_HOST };
  const baseImage = process.env.JOB_IMAGE_BASE ?? 'local/debian:bookworm';
  const nodeImage = process.env.JOB_IMAGE_NODE ?? 'local/node:24';
  const results: GitlabRunResult[] = [];
  const pushedTags: string[] = [];
  const CHANGELOG = '# Changelog\n\n## Unreleased\n\n## 1.2.3 — 2024-01-01\n\n### Added\n- The job image.\n';
  let branch: { sha: string; digest: string } | undefined;

  /** The job's environment: none of the test's AWS/docker settings or the build-arg names, a HOME of its own. */
  const jobEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    const buildArgNames = /^(BASE|NODE_IMAGE|NODE_BIN|DOCKER_CLI_IMAGE|DOCKER_CLI_PLUGINS|KANIKO_IMAGE)$/;
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !/^(AWS_|DOCKER_CONFIG$|CI_)/.test(k) && !buildArgNames.test(k)) env[k] = v;
    env.HOME = home;
    return env;
  };

  // One snapshot of what the pipelines need from this checkout, taken once: both projects are
  // copies of it, so their commits are the same (fixed dates) and the tag pipeline's tag is on
  // the commit the branch pipeline built, however often other builds rewrite dist/ meanwhile.
  // It is also the jobs' SHIPLINE_HOME (its dist/), outside their checkout.
  const snapshot = () => path.join(tmp, 'snapshot');
  const SNAPSHOT = ['templates', 'dist', 'Dockerfile', '.dockerignore', 'scripts/release.mjs'];
  let projects = 0;

  const pipelineRun = (pipeline: PipelineSpec, job: string[]) => {
    const dir = path.join(tmp, `project-${++projects}`);
    fs.cpSync(snapshot(), dir, { recursive: true });
    return runGitlabCiLocal({
      ciYml: ciText,
      cwd: dir,
      pipeline,
      job,
      copy: [],
      files: { 'CHANGELOG.md': CHANGELOG },
      shiplineHome: snapshot(),
      variables: {
        CI_REGISTRY: bench.TB_REGISTRY_TOKEN,
        CI_REGISTRY_IMAGE: registryImage,
        CI_REGISTRY_USER: bench.TB_REGISTRY_TOKEN_USER,
        DOCKER_HOST: bench.TB_DOCKER_HOST,
        BASE: baseImage,
        NODE_IMAGE: nodeImage,
        JOB_IMAGE_NETWORK: 'host',
        JOB_IMAGE_DIND: '', // no dind service: the bench's engine instead
      },
      fileVariables: { CI_REGISTRY_PASSWORD: bench.TB_REGISTRY_TOKEN_PASSWORD },
      env: jobEnv(),
      timeoutMs: 1_500_000,
    }).then((r) => (results.push(r), r));
  };

  const inspect = async (ref: string) => {
    const r = await runOk(
      'skopeo',
      ['inspect', '--tls-verify=false', '--no-tags', '--authfile', auth.path, `docker://${ref}`],
      { timeoutMs: 60_000 },
    );
    return JSON.parse(r.stdout) as { Digest: string; Labels: Record<string, string>; Env: string[] };
  };

  const noLeaks = (r: GitlabRunResult, job: string) => {
    expect(r.args.join(' ')).not.toContain(bench.TB_REGISTRY_TOKEN_PASSWORD);
    expectNoLeaks({
      secrets: { registryPassword: bench.TB_REGISTRY_TOKEN_PASSWORD },
      texts: { stdout: r.stdout, stderr: r.stderr, log: r.jobLog(job) },
      dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts')],
    });
    // The template's private docker config was the only one: the runner user's is never written.
    expect(fs.existsSync(path.join(home, '.docker'))).toBe(false);
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-project-pipeline-'));
    home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    auth = writeBenchDockerConfig(bench);
    // The bases (`scripts/job-image base` / `node`) and the job image of this checkout, built by
    // scripts/job-image under its content tag (test/support/job-image.ts: kept and shared with
    // the other job-image tests, reused when present): its layers are the cache the pipeline's
    // build of the same Dockerfile from the same bases hits, up to the labels of the commit.
    const images = await ensureJobImages(dockerEnv);
    console.log(
      `job image cache ${images.jobImage}: ${images.built.jobImage ? 'built' : 'reused'} in ${(images.ms / 1000).toFixed(1)} s`,
    );
    // A concurrent `npm run build` rewrites dist/ step by step: retry a copy that caught it midway.
    for (let attempt = 1; ; attempt++) {
      fs.rmSync(snapshot(), { recursive: true, force: true });
      try {
        for (const rel of SNAPSHOT)
          fs.cpSync(path.join(repoRoot, rel), path.join(snapshot(), rel), { recursive: true });
        if (fs.existsSync(path.join(snapshot(), 'dist', 'build-push', 'index.js'))) break;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
      if (attempt >= 5) throw new Error('dist/build-push/index.js is missing: npm run build');
      await new Promise((done) => setTimeout(done, 2000));
    }
  }, 1_800_000);

  afterAll(async () => {
    results.forEach((r) => r.cleanup());
    // The registry's manifests of this run, whatever the assertions said (by digest: deleting
    // one removes every tag on it; Distribution keeps the empty repository and its blobs until a
    // garbage collection), then the engine's tags of the pushed repository (layers other images
    // share stay).
    const digests = new Set<string>();
    for (const ref of pushedTags) {
      const r = await run(
        'skopeo',
        [
          'inspect',
          '--tls-verify=false',
          '--no-tags',
          '--format',
          '{{.Digest}}',
          '--authfile',
          auth.path,
          `docker://${ref}`,
        ],
        { timeoutMs: 60_000 },
      );
      if (r.code === 0) digests.add(r.stdout.trim());
    }
    for (const d of digests)
      await run('skopeo', ['delete', '--tls-verify=false', '--authfile', auth.path, `docker://${repo}@${d}`], {
        timeoutMs: 60_000,
      });
    const local = await run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repo], {
      env: dockerEnv,
    });
    const refs = local.stdout.split('\n').filter(Boolean);
    if (refs.length) await run('docker', ['image', 'rm', ...refs], { env: dockerEnv, timeoutMs: 120_000 });
    if (auth.dir) fs.rmSync(auth.dir, { recursive: true, force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 300_000);

  test('branch pipeline: job-image builds the root Dockerfile with this commit’s build-push and pushes job:<sha>', async () => {
    const started = Date.now();
    const r = await pipelineRun({ kind: 'branch', branch: 'feature/x' }, ['job-image']);
    const seconds = (Date.now() - started) / 1000;
    const log = r.jobLog('job-image');
    pushedTags.push(`${repo}:${r.sha}`);
    expect(status(r)).toMatch(/^exit 0/);

    // The build ran FROM the local bases (the bare build-args took the job's BASE and NODE_IMAGE:
    // the classic builder prints the FROM line unexpanded, then the id of the image it used).
    for (const [arg, image] of [
      ['NODE_IMAGE', nodeImage],
      ['BASE', baseImage],
    ]) {
      const id = (await runOk('docker', ['image', 'inspect', '--format', '{{.Id}}', image!], { env: dockerEnv })).stdout
        .trim()
        .replace(/^sha256:/, '');
      const from = new RegExp(`^Step \\d+/\\d+ : FROM \\$\\{${arg}\\} AS \\S+\\n ---> ([0-9a-f]{12})$`, 'm').exec(log);
      expect({ arg, id: from?.[1] }).toEqual({ arg, id: id.slice(0, 12) });
    }
    const cache = /image sha256:[0-9a-f]+: (\d+)\/(\d+) steps from cache/.exec(log);
    expect(cache).not.toBeNull();
    console.log(`job-image job: ${seconds.toFixed(1)} s, ${cache![1]}/${cache![2]} steps from cache`);
    // build-push's own temporary tag is gone (its cleanup ran in after_script).
    const temp = /Successfully tagged (shipline-build-push-\S+)/.exec(log)?.[1];
    if (temp) expect((await run('docker', ['image', 'inspect', temp], { env: dockerEnv })).code).not.toBe(0);

    const report = r.dotenv('job-image') ?? {};
    const digest = report.JOB_IMAGE_DIGEST;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(report.JOB_IMAGE_TAGS).toBe(`${repo}:${r.sha}`);
    expect(report.JOB_IMAGE_IMAGE).toBe(`${repo}@${digest}`);

    // At the registry: that digest, the OCI labels of this commit, the job image's settings.
    const info = await inspect(`${repo}:${r.sha}`);
    expect(info.Digest).toBe(digest);
    expect(info.Labels).toMatchObject({
      'org.opencontainers.image.title': 'shipline job image',
      'org.opencontainers.image.revision': r.sha,
      'org.opencontainers.image.version': r.sha,
      'org.opencontainers.image.licenses': 'MIT',
      'org.opencontainers.image.description':
        'shipline job image: node 24, git, docker CLI, buildah and the shipline steps',
      'org.opencontainers.image.source': 'https://gitlab.example.com/shipline/shipline',
    });
    expect(info.Labels['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(info.Env).toEqual(expect.arrayContaining(['SHIPLINE_HOME=/opt/shipline', 'BUILDAH_ISOLATION=chroot']));

    // What was pushed is a job image: this checkout's shipline runs in it, with no network.
    const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string })
      .version;
    const v = await runOk('docker', ['run', '--rm', '--network', 'none', `${repo}:${r.sha}`, 'shipline', '--version'], {
      env: dockerEnv,
      timeoutMs: 60_000,
    });
    expect(v.stdout.trim()).toBe(version);

    noLeaks(r, 'job-image');
    branch = { sha: r.sha, digest: digest! };
  }, 1_560_000); // a cold cache (no job image built on this engine yet) runs the Dockerfile's apt-get steps

  test('tag pipeline 1.2.3: promote-job-image retags job:<sha> as job:1.2.3 (same digest, nothing built); release-notes runs', async () => {
    if (!branch) throw new Error('the branch pipeline did not push the job image');
    const r = await pipelineRun({ kind: 'tag', tag: '1.2.3' }, ['promote-job-image', 'release-notes']);
    const log = r.jobLog('promote-job-image');
    pushedTags.push(`${repo}:1.2.3`);
    expect(status(r)).toMatch(/^exit 0/);
    expect(r.sha).toBe(branch.sha); // the tag is on the commit the branch pipeline built

    // A registry retag: the version tag is the same manifest, the sha tag unchanged, no build in the job.
    expect((await inspect(`${repo}:1.2.3`)).Digest).toBe(branch.digest);
    expect((await inspect(`${repo}:${branch.sha}`)).Digest).toBe(branch.digest);
    expect(r.dotenv('promote-job-image')?.PROMOTE_JOB_IMAGE_DIGEST).toBe(branch.digest);
    expect(log).toContain(`retag ${repo}:${branch.sha} → ${repo}:1.2.3 (method registry)`);
    expect(log).toContain(`${repo}:1.2.3: tagged`); // the manifest PUT under the new tag, no blob moved
    expect(log).not.toMatch(/docker build|Step \d+\/\d+ :/);

    // The release's notes: CHANGELOG.md's section of the tag (the release job itself: --preview above).
    expect(r.readFile('.gitlab-ci-local/artifacts/release-notes/release-notes.md')).toBe(
      '### Added\n- The job image.\n',
    );
    noLeaks(r, 'promote-job-image');
  });
});
