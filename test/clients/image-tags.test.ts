// image-tags through every client: the CLI, the bundle as GitHub's runner runs it (Node 20
// and Node 24), and the GitLab template under gitlab-ci-local, with the same tags for the
// same situation everywhere.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, runOk, withEnv } from '../support/exec';
import { runGithubAction } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';

const SHA = '4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d';
const CLI = path.join(repoRoot, 'dist/cli.js');
const BUNDLE = 'dist/image-tags/index.js';
const IMAGE = 'registry.example.com/Team/App';
const SEMVER = [
  'defaults',
  'type=semver,pattern={{version}}',
  'type=semver,pattern={{major}}.{{minor}}',
  'type=semver,pattern={{major}}',
];

const gitlabEnv = (extra: Record<string, string>) =>
  withEnv({
    GITLAB_CI: 'true',
    CI_COMMIT_SHA: SHA,
    CI_DEFAULT_BRANCH: 'main',
    CI_PROJECT_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'it-')),
    GITHUB_ACTIONS: undefined,
    ...extra,
  });

function outputs(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([a-z-]+)(?:=(.*)|<<SHIPLINE_EOF\n([\s\S]*?)\nSHIPLINE_EOF)$/gm;
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

const situations = [
  {
    name: 'merge request',
    gitlab: {
      CI_MERGE_REQUEST_IID: '7',
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/x',
    },
    github: {
      name: 'pull_request',
      ref: 'refs/pull/7/merge',
      payload: { number: 7, pull_request: { number: 7, head: { ref: 'feature/x' }, base: { ref: 'main' } } },
    },
    rules: [] as string[],
    want: ['registry.example.com/team/app:MR-7'],
  },
  {
    name: 'default branch',
    gitlab: { CI_COMMIT_BRANCH: 'main', CI_PIPELINE_SOURCE: 'push' },
    github: { name: 'push', ref: 'refs/heads/main', payload: { ref: 'refs/heads/main' } },
    rules: [] as string[],
    want: ['registry.example.com/team/app:4f9c2b7e', 'registry.example.com/team/app:latest'],
  },
  {
    name: 'release tag with semver rules',
    gitlab: { CI_COMMIT_TAG: 'v1.2.3', CI_PIPELINE_SOURCE: 'push' },
    github: { name: 'push', ref: 'refs/tags/v1.2.3', payload: { ref: 'refs/tags/v1.2.3' } },
    rules: SEMVER,
    // Priorities as metadata-action's: semver (900) before the default tag rule (600); a final release gets latest.
    want: ['1.2.3', '1.2', '1', 'v1.2.3', 'latest'].map((t) => `registry.example.com/team/app:${t}`),
  },
];

describe('CLI (GitLab variables)', () => {
  test.each(situations)('$name', async ({ gitlab, rules, want }) => {
    const args = [CLI, 'image-tags', '--images', IMAGE, ...rules.flatMap((r) => ['--tags', r])];
    const r = await runOk(process.execPath, args, { env: gitlabEnv(gitlab) });
    expect(outputs(r.stdout).tags!.split('\n')).toEqual(want);
  });

  test('dotenv report for later jobs', async () => {
    const env = gitlabEnv(situations[1]!.gitlab);
    await runOk(process.execPath, [CLI, 'image-tags', '--images', IMAGE], { env });
    const dotenv = fs.readFileSync(path.join(env.CI_PROJECT_DIR!, '.shipline/outputs.env'), 'utf8');
    expect(dotenv).toContain(
      'IMAGE_TAGS_TAGS=registry.example.com/team/app:4f9c2b7e registry.example.com/team/app:latest\n',
    );
  });

  test.each([
    [['--latest', 'maybe'], /input 'latest': 'maybe' is not allowed/],
    [
      ['--images', 'registry.example.com/my app'],
      /input 'images': 'registry.example.com\/my app' contains white space/,
    ],
    [['--sha-length', '2'], /input 'sha-length': '2' is not valid/],
    [['--tags', 'type=semver'], /input 'tags': tag rule 'type=semver': type=semver needs pattern=/],
    [['--imagez', 'x'], /'--imagez' is not an input of image-tags/],
  ])('bad input %j exits 2 naming the input', async (args, msg) => {
    const r = await run(process.execPath, [CLI, 'image-tags', ...args], { env: gitlabEnv({}) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  test('help is generated from the declaration', async () => {
    const top = await runOk(process.execPath, [CLI, '--help']);
    expect(top.stdout).toMatch(/^\s+image-tags\s+Compute image tags/m);
    const h = await runOk(process.execPath, [CLI, 'image-tags', '--help']);
    for (const input of ['--images', '--tags', '--mr-prefix', '--sha-length', '--latest', '--labels'])
      expect(h.stdout).toContain(input);
  });
});

describe('GitHub runtime', () => {
  const node24 = requireNode24();
  const nodes: [string, string | undefined][] = [
    ['node 20', undefined],
    ...(node24 ? [['node 24', node24] as [string, string]] : []),
  ];
  describe.each(nodes)('%s', (_label, node) => {
    test.each(situations)('$name gives the same tags as GitLab', async ({ github, rules, want }) => {
      const r = await runGithubAction({
        entry: BUNDLE,
        inputs: { images: IMAGE, tags: rules.join('\n') },
        env: { GITHUB_SHA: SHA, GITHUB_REF: github.ref, GITHUB_REPOSITORY: 'team/app' },
        event: {
          name: github.name,
          payload: { ...github.payload, repository: { name: 'app', default_branch: 'main' } },
        },
        ...(node ? { node } : {}),
      });
      try {
        expect(r.exitCode).toBe(0);
        expect(r.outputs.tags!.split('\n')).toEqual(want);
        expect(JSON.parse(r.outputs.json!).tags).toEqual(want);
        expect(r.summary).toContain(want[0]);
      } finally {
        r.cleanup();
      }
    });
  });
  test("docker/metadata-action's inputs, outputs and DOCKER_METADATA_OUTPUT_* variables", async () => {
    const r = await runGithubAction({
      entry: BUNDLE,
      inputs: {
        images: 'ghcr.io/Acme/App',
        tags: 'type=ref,event=branch\ntype=ref,event=pr\ntype=semver,pattern={{version}}\ntype=sha',
        flavor: 'prefix=v-,onlatest=true',
        annotations: 'org.opencontainers.image.vendor=ACME',
        'sep-tags': ',',
      },
      env: { GITHUB_SHA: SHA, GITHUB_REF: 'refs/tags/v1.2.3', GITHUB_REPOSITORY: 'acme/app' },
      event: {
        name: 'push',
        payload: {
          ref: 'refs/tags/v1.2.3',
          head_commit: { id: SHA, timestamp: '2026-11-20T10:15:30+01:00' },
          repository: {
            name: 'app',
            default_branch: 'main',
            html_url: 'https://github.com/acme/app',
            description: 'The app',
            license: { spdx_id: 'MIT' },
          },
        },
      },
    });
    try {
      expect(r.exitCode).toBe(0);
      expect(r.outputs.tags).toBe('ghcr.io/acme/app:v-1.2.3,ghcr.io/acme/app:sha-4f9c2b7,ghcr.io/acme/app:v-latest');
      expect(r.outputs.version).toBe('v-1.2.3');
      expect(r.outputs.labels!.split('\n')).toEqual([
        'org.opencontainers.image.created=2026-11-20T09:15:30.000Z',
        'org.opencontainers.image.description=The app',
        'org.opencontainers.image.licenses=MIT',
        'org.opencontainers.image.revision=' + SHA,
        'org.opencontainers.image.source=https://github.com/acme/app',
        'org.opencontainers.image.title=app',
        'org.opencontainers.image.url=https://github.com/acme/app',
        'org.opencontainers.image.version=v-1.2.3',
      ]);
      expect(r.outputs.annotations).toContain('manifest:org.opencontainers.image.vendor=ACME');
      expect(r.env.DOCKER_METADATA_OUTPUT_TAGS).toBe(r.outputs.tags);
      expect(r.env.DOCKER_METADATA_OUTPUT_VERSION).toBe('v-1.2.3');
      expect(JSON.parse(r.env.DOCKER_METADATA_OUTPUT_JSON!)['tag-names']).toEqual([
        'v-1.2.3',
        'sha-4f9c2b7',
        'v-latest',
      ]);
    } finally {
      r.cleanup();
    }
  });
  test.each([
    [{ tags: 'type=raw,value={{nope}}' }, /input 'tags': .*\{\{nope\}\} is not an expression/],
    [{ flavor: 'latest=maybe' }, /input 'flavor': flavor 'latest=maybe'/],
    [{ labels: 'novalue' }, /input 'labels'/],
  ])('metadata-action input mistakes exit 2: %j', async (inputs, msg) => {
    const r = await runGithubAction({ entry: BUNDLE, inputs: { images: IMAGE, ...inputs } });
    try {
      expect(r.exitCode).toBe(2);
      expect(r.commands.find((c) => c.command === 'error')?.value).toMatch(msg);
    } finally {
      r.cleanup();
    }
  });
  test('a bad input fails the step with an error annotation', async () => {
    const r = await runGithubAction({ entry: BUNDLE, inputs: { images: IMAGE, latest: 'maybe' } });
    try {
      expect(r.exitCode).not.toBe(0);
      expect(r.commands).toContainEqual(
        expect.objectContaining({ command: 'error', value: "input 'latest': 'maybe' is not allowed" }),
      );
    } finally {
      r.cleanup();
    }
  });
});

/** Exit code plus the log tail, so a failing pipeline shows why. */
const status = (r: { exitCode: number; stdout: string; stderr: string }) =>
  `exit ${r.exitCode}\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`;

describe('GitLab template under gitlab-ci-local', () => {
  const ci = {
    stages: ['build', 'test'],
    include: [componentInclude('image-tags', { images: IMAGE, stage: 'build' })],
    'use-tags': {
      stage: 'test',
      needs: ['image-tags'],
      script: ['echo "got=$IMAGE_TAGS_TAGS"', 'echo "version=$IMAGE_TAGS_VERSION"'],
    },
  };

  test('MR pipeline: MR-7 reaches a later job through the dotenv report', async () => {
    const r = await runGitlabCiLocal({ ciYml: ci, pipeline: { kind: 'mr', mrIid: '7' } });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      expect(r.dotenv('image-tags')).toMatchObject({ IMAGE_TAGS_TAGS: 'registry.example.com/team/app:MR-7' });
      expect(r.stdout).toContain('got=registry.example.com/team/app:MR-7');
    } finally {
      r.cleanup();
    }
  });

  test('default-branch pipeline: <8-char sha> and latest', async () => {
    const r = await runGitlabCiLocal({ ciYml: ci, pipeline: 'default-branch' });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: r.dir })).stdout.trim();
      expect(r.stdout).toContain(
        `got=registry.example.com/team/app:${sha.slice(0, 8)} registry.example.com/team/app:latest`,
      );
    } finally {
      r.cleanup();
    }
  });

  test('tag pipeline with semver rules from a multi-line input', async () => {
    const r = await runGitlabCiLocal({
      ciYml: { ...ci, include: [componentInclude('image-tags', { images: IMAGE, tags: SEMVER.join('\n') })] },
      pipeline: { kind: 'tag', tag: 'v1.2.3' },
    });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      expect(r.stdout).toContain(
        'got=' + ['1.2.3', '1.2', '1', 'v1.2.3', 'latest'].map((t) => `registry.example.com/team/app:${t}`).join(' '),
      );
    } finally {
      r.cleanup();
    }
  });

  test('an input the spec does not allow fails the pipeline before any job', async () => {
    const r = await runGitlabCiLocal({
      ciYml: { include: [componentInclude('image-tags', { latest: 'maybe' })] },
      pipeline: 'default-branch',
    });
    try {
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/latest/);
    } finally {
      r.cleanup();
    }
  });

  test('without SHIPLINE_HOME the job fetches the pinned dist/ of the component project', async () => {
    // The component project as a bare repository served over file://, standing in for
    // $CI_SERVER_URL/<shipline-project>.git; the job fetches dist/image-tags at SHIPLINE_REF.
    const server = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-server-'));
    await runOk('git', ['clone', '-q', '--bare', repoRoot, path.join(server, 'platform/shipline.git')]);
    const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).stdout.trim();
    const home = path.join(server, 'home');
    const r = await runGitlabCiLocal({
      ciYml: { include: [componentInclude('image-tags', { images: IMAGE, 'shipline-project': 'platform/shipline' })] },
      pipeline: 'default-branch',
      copy: ['templates'],
      variables: { SHIPLINE_HOME: home, SHIPLINE_REF: sha, CI_SERVER_URL: `file://${server}` },
    });
    try {
      expect(status(r)).toMatch(/^exit 0/);
      expect(fs.existsSync(path.join(home, 'dist/image-tags/index.js'))).toBe(true);
      expect(fs.existsSync(path.join(home, 'dist/cli.js'))).toBe(false);
      expect(r.dotenv('image-tags')?.IMAGE_TAGS_TAGS).toMatch(
        /registry\.example\.com\/team\/app:[0-9a-f]{8} registry\.example\.com\/team\/app:latest/,
      );
    } finally {
      r.cleanup();
      fs.rmSync(server, { recursive: true, force: true });
    }
  });

  test('SHIPLINE_REF is the component sha GitLab resolves for the include', async () => {
    const r = await runGitlabCiLocal({
      ciYml: {
        include: [componentInclude('image-tags', { images: IMAGE })],
        'show-ref': { needs: [], script: ['true'] },
      },
      pipeline: 'default-branch',
      extraArgs: ['--preview'],
    });
    try {
      const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: r.dir })).stdout.trim();
      expect(r.stdout).toContain(`SHIPLINE_REF: ${sha}`);
    } finally {
      r.cleanup();
    }
  });
});
