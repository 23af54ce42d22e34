// shipline's own .gitlab-ci.yml (#14 item 3): valid for GitLab's schema and GitLab's
// include-inputs rule, and run under gitlab-ci-local 4.73: which jobs a branch pipeline and a
// version tag pipeline hold (--list-json, rules evaluated), what the includes expand to
// (--preview), and the self-test jobs really run on the shell executor.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot, run, runOk } from '../support/exec';
import { GITLAB_REMOTE, runGitlabCiLocal, type GitlabRunResult, type PipelineSpec } from '../support/gitlab';
import { validateGitlabCi } from '../support/schema';

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
      DOCKER_HOST: 'tcp://docker:2375',
      // the name the templates of this commit default to, with shipline-project = this project
      SHIPLINE_DEFAULT_IMAGE: '$CI_REGISTRY/$CI_PROJECT_PATH/job:' + sha,
    });
    expect(image.services).toEqual([{ name: 'docker:27-dind', alias: 'docker' }]);

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
      expect(r.dotenv('self-test-image-tags')?.IMAGE_TAGS_TAGS).toBe(want);
      expect(r.jobLog('self-test-check')).toContain(`IMAGE_TAGS_TAGS=${want}`);
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
      expect(r.dotenv('self-test-image-tags')?.IMAGE_TAGS_TAGS).toBe(
        `registry.example.com/shipline/self-test:self-test,registry.example.com/shipline/self-test:sha-${sha}`,
      );
    } finally {
      r.cleanup();
      fs.rmSync(outer, { recursive: true, force: true });
    }
  });
});
