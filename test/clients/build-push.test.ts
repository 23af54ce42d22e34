// build-push through its real clients against the bench registry: the GitLab template run
// by gitlab-ci-local (examples/gitlab/build-push.yml over the example app, as-is), and the
// bundle as GitHub's runner runs it (components/build-push/action.yml, Node 24 when the
// bench has it) with pull_request and push events. The judge of each pushed digest is skopeo.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../support/exec';
import { runGithubAction } from '../support/github';
import { runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { describeBench } from '../support/testbed';
import { expectNoLeaks, plantCanaries } from '../support/canary';
import {
  EXAMPLE_APP,
  gitlabDotenv,
  removeRepoImages,
  skopeoDigest,
  stepTemporaries,
  uniq,
} from '../support/build-push-run';

const GITLAB_EXAMPLE = path.join(repoRoot, 'examples', 'gitlab', 'build-push.yml');
const SHA = '4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d';

function appFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(EXAMPLE_APP)) out[f] = fs.readFileSync(path.join(EXAMPLE_APP, f), 'utf8');
  return out;
}

const fail = (r: { exitCode: number; stdout: string; stderr: string }) =>
  new Error(`exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);

describeBench(
  ['docker', 'registry-open'],
  'build-push on GitLab (gitlab-ci-local, examples/gitlab/build-push.yml)',
  (env) => {
    const results: GitlabRunResult[] = [];
    const repos: string[] = [];
    const newRepo = () => {
      const r = `${env.TB_REGISTRY_OPEN}/${uniq('bp-gl')}/app`;
      repos.push(r);
      return r;
    };
    afterAll(() => {
      for (const r of results) r.cleanup();
      for (const r of repos) removeRepoImages(r);
    });

    it('MR pipeline (CI_MERGE_REQUEST_IID=7) pushes …/app:MR-7; the dotenv digest is the registry digest', async () => {
      const image = newRepo();
      const before = stepTemporaries();
      const secrets = plantCanaries('registrypassword');
      const r = await runGitlabCiLocal({
        ciYml: fs.readFileSync(GITLAB_EXAMPLE, 'utf8'),
        files: appFiles(),
        pipeline: 'mr',
        variables: {
          CI_REGISTRY_IMAGE: image,
          BASE_IMAGE: env.TB_BASE_IMAGE,
          CI_REGISTRY: 'registry.gitlab.example.com',
          CI_REGISTRY_USER: 'gitlab-ci-token',
        },
        // the password path: a job variable from a file, never argv; the step only writes it
        // to its private docker config for CI_REGISTRY
        fileVariables: { CI_REGISTRY_PASSWORD: secrets.registrypassword },
      });
      results.push(r);
      if (r.exitCode !== 0) throw fail(r);
      const log = r.jobLog('build-image');
      expect(r.stdout).not.toMatch(/refresh-lock/);
      const dotenv = gitlabDotenv(r.dir, 'build-image');
      // named by the job (build-image), so two build-push jobs never share a name
      expect(dotenv?.BUILD_IMAGE_TAGS).toBe(`${image}:MR-7`);
      expect(dotenv?.BUILD_IMAGE_DIGEST).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(skopeoDigest(`${image}:MR-7`)).toBe(dotenv?.BUILD_IMAGE_DIGEST);
      expect(dotenv?.BUILD_IMAGE_IMAGE).toBe(`${image}@${dotenv?.BUILD_IMAGE_DIGEST}`);
      // the smoke stage was built (its RUN may come from the engine's cache of an earlier run)
      expect(log).toMatch(
        /Smoke test: build stage smoke-test[\s\S]*Step \d+\/\d+ : RUN sh \.\/app\.sh --self-test[\s\S]*Build target-image/,
      );
      // build output in its own section (gitlab-ci-local sets GITLAB_CI=false, so the CLI
      // runtime's `▶ title` header stands in for GitLab's section_start); push folded to one
      // line per layer's final state
      expect(log).toMatch(/(section_start:\d+:shipline_build_push_\d+\[collapsed=true\][^\n]*|▶ )Build target-image/);
      expect(log).toMatch(/^[a-f0-9]{12}: (Pushed|Layer already exists|Mounted from \S+)$/m);
      expect(log).not.toMatch(/: (Preparing|Waiting)$/m);
      expect(log).toContain(
        'credentials for registry.gitlab.example.com (user gitlab-ci-token) in a private docker config',
      );
      expect(stepTemporaries()).toEqual(before);
      expectNoLeaks({
        secrets,
        texts: { stdout: r.stdout, stderr: r.stderr, log },
        dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts'), path.join(r.dir, '.shipline')],
      });
    }, 600_000);

    it('default-branch pipeline pushes …/app:<8-char sha> and …/app:latest with the same digest', async () => {
      const image = newRepo();
      const r = await runGitlabCiLocal({
        ciYml: fs.readFileSync(GITLAB_EXAMPLE, 'utf8'),
        files: appFiles(),
        pipeline: 'default-branch',
        variables: { CI_REGISTRY_IMAGE: image, BASE_IMAGE: env.TB_BASE_IMAGE },
      });
      results.push(r);
      if (r.exitCode !== 0) throw fail(r);
      const sha = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: r.dir, encoding: 'utf8' }).stdout.trim();
      const dotenv = gitlabDotenv(r.dir, 'build-image');
      expect(dotenv?.BUILD_IMAGE_TAGS).toBe(`${image}:${sha.slice(0, 8)} ${image}:latest`);
      expect(skopeoDigest(`${image}:${sha.slice(0, 8)}`)).toBe(dotenv?.BUILD_IMAGE_DIGEST);
      expect(skopeoDigest(`${image}:latest`)).toBe(dotenv?.BUILD_IMAGE_DIGEST);
    }, 600_000);

    it('lock refresh job: the refreshed deps.lock becomes a job artifact; nothing is pushed or left behind', async () => {
      const image = newRepo();
      const before = stepTemporaries();
      const r = await runGitlabCiLocal({
        ciYml: fs.readFileSync(GITLAB_EXAMPLE, 'utf8'),
        files: appFiles(),
        job: 'refresh-lock',
        variables: { CI_REGISTRY_IMAGE: image, BASE_IMAGE: env.TB_BASE_IMAGE, CI_PIPELINE_SOURCE: 'schedule' },
      });
      results.push(r);
      if (r.exitCode !== 0) throw fail(r);
      const artifact = path.join(r.dir, '.gitlab-ci-local', 'artifacts', 'refresh-lock', 'deps.lock');
      expect(fs.readFileSync(artifact, 'utf8')).toBe('alpha==1.1.0\nbeta==2.3.1\n');
      expect(gitlabDotenv(r.dir, 'refresh-lock')?.REFRESH_LOCK_DIGEST).toBe('');
      expect(gitlabDotenv(r.dir, 'refresh-lock')?.REFRESH_LOCK_IMAGE).toBe('');
      expect(skopeoDigest(`${image}:latest`)).toBeUndefined();
      expect(stepTemporaries()).toEqual(before);
    }, 600_000);
  },
);

describeBench(['docker', 'registry-open'], 'build-push on GitHub (bundle as the runner runs it)', (env) => {
  const node = requireNode24() ?? process.execPath;
  const repos: string[] = [];
  afterAll(() => {
    for (const r of repos) removeRepoImages(r);
  });

  const events = [
    {
      name: 'pull_request',
      env: { GITHUB_REF: 'refs/pull/7/merge', GITHUB_HEAD_REF: 'feature/x', GITHUB_BASE_REF: 'main' },
      payload: { number: 7, pull_request: { number: 7, head: { ref: 'feature/x', sha: SHA }, base: { ref: 'main' } } },
      tags: ['MR-7'],
    },
    {
      name: 'push',
      env: { GITHUB_REF: 'refs/heads/main' },
      payload: { ref: 'refs/heads/main', after: SHA },
      tags: [SHA.slice(0, 8), 'latest'],
    },
  ];

  test.each(events)(
    '$name event pushes $tags; digest output equals skopeo',
    async (ev) => {
      const image = `${env.TB_REGISTRY_OPEN}/${uniq('bp-gh')}/app`;
      repos.push(image);
      const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-gh-ws-'));
      fs.cpSync(EXAMPLE_APP, workspace, { recursive: true });
      const before = stepTemporaries();
      const r = await runGithubAction({
        action: 'components/build-push/action.yml',
        node,
        workspace,
        inputs: {
          images: image,
          target: 'target-image',
          'smoke-target': 'smoke-test',
          'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`,
        },
        env: { GITHUB_SHA: SHA, GITHUB_REPOSITORY: 'team/app', ...ev.env },
        event: {
          name: ev.name,
          payload: { ...ev.payload, repository: { name: 'app', full_name: 'team/app', default_branch: 'main' } },
        },
        timeoutMs: 300_000,
      });
      try {
        if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
        expect(r.postExitCode).toBe(0);
        expect(r.outputs.tags!.split('\n')).toEqual(ev.tags.map((t) => `${image}:${t}`));
        for (const t of ev.tags) expect(skopeoDigest(`${image}:${t}`)).toBe(r.outputs.digest);
        expect(r.outputs.image).toBe(`${image}@${r.outputs.digest}`);
        expect(r.summary).toContain(r.outputs.digest!);
        expect(r.stdout).toContain('::group::Build target-image');
        expect(stepTemporaries()).toEqual(before);
      } finally {
        r.cleanup();
        fs.rmSync(workspace, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
