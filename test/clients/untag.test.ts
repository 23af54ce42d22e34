// untag through its clients: the bundle as GitHub's runner runs it (Node 20 and 24) on the
// bearer-token registry (one token for pull,delete), the generated action.yml and
// template against their schemas, and the GitLab template under gitlab-ci-local as the
// manual stop job of a merge request's review environment, with the job's own
// CI_REGISTRY_USER/CI_REGISTRY_PASSWORD.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot, run } from '../support/exec';
import { runGithubAction } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { validateActionYml, validateGitlabTemplate } from '../support/schema';
import { describeBench, type BenchEnv } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { pushRandomImage, testClient, uniq, writeBenchDockerConfig } from '../support/retag-images';
import { skopeoDigest } from '../support/retag-run';
import { putManifest, type Manifest } from '../../src/lib/registry/manifest';

jest.setTimeout(180_000);

const BUNDLE = 'dist/untag/index.js';
const status = (r: { exitCode: number; stdout: string; stderr: string }) =>
  `exit ${r.exitCode}\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`;

async function skopeoFinds(ref: string, authfile: string): Promise<boolean> {
  const r = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--authfile', authfile, `docker://${ref}`], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0 && !/manifest unknown|not found/i.test(r.stderr)) throw new Error(`skopeo: ${r.stderr}`);
  return r.code === 0;
}

describe('generated wrappers', () => {
  test('action.yml passes GitHub’s schema', () => {
    const r = validateActionYml(path.join(repoRoot, 'components/untag/action.yml'));
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
  });
  test('the template passes GitLab’s schema: stage cleanup, manual in merge request pipelines, no input in script', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates/untag.yml'), 'utf8');
    const r = validateGitlabTemplate(text, { 'insecure-registries': 'registry.internal:5000' });
    expect(
      r.errors.filter(
        (e) => !/^header: \/spec must NOT have additional properties \{"additionalProperty":"component"\}/.test(e),
      ),
    ).toEqual([]);
    const [header, body] = parseAllDocuments(text).map((d) => d.toJS() as Record<string, Record<string, unknown>>);
    const inputs = (header!.spec as { inputs: Record<string, { default?: unknown }> }).inputs;
    expect(inputs.stage!.default).toBe('cleanup');
    expect(inputs.tags!.default).toBe('MR-$CI_MERGE_REQUEST_IID');
    expect(inputs['dry-run']!.default).toBe(false);
    const job = body!['$[[ inputs.job-name ]]']!;
    expect(job.rules).toEqual([{ if: '$CI_MERGE_REQUEST_IID', when: 'manual', allow_failure: true }]);
    // Only the user's own command lists (array inputs) are interpolated into script.
    const own = ['$[[ inputs.before-script ]]', '$[[ inputs.script ]]'];
    expect((job.script as string[]).filter((l) => !own.includes(l)).join('\n')).not.toContain('$[[ inputs.');
  });
});

describe('bundle', () => {
  test('the registry path stays small; the AWS SDK lives in lazy.js, loaded for ecr-api only', () => {
    const index = fs.readFileSync(path.join(repoRoot, BUNDLE), 'utf8');
    const main = fs.readFileSync(path.join(repoRoot, 'dist/untag/main.js'), 'utf8');
    expect(index.length + main.length).toBeLessThanOrEqual(150 * 1024);
    expect(index + main).not.toContain('BatchDeleteImageCommand');
    expect(index).toContain('./main.js');
    expect(index).toContain('./lazy.js');
    expect(fs.readFileSync(path.join(repoRoot, 'dist/untag/lazy.js'), 'utf8')).toContain('BatchDeleteImage');
  });
});

describeBench(['registries'], 'untag clients', (env: BenchEnv) => {
  const cfg = writeBenchDockerConfig(env);
  afterAll(() => fs.rmSync(cfg.dir, { recursive: true, force: true }));

  /** latest and sha-… on one image, the MR tag on its own. */
  async function seed(repo: string, mrTag: string): Promise<{ latest: Manifest; mr: Manifest }> {
    const c = testClient(env.TB_REGISTRY_TOKEN, cfg.path, [repo]);
    const latest = await pushRandomImage(c, repo, 'latest');
    await putManifest(c, repo, 'sha-1a2b3c4d', latest);
    const mr = await pushRandomImage(c, repo, mrTag);
    return { latest, mr };
  }

  describe('GitHub runtime', () => {
    const node24 = requireNode24();
    const nodes: [string, string | undefined][] = [
      ['node 20', undefined],
      ...(node24 ? [['node 24', node24] as [string, string]] : []),
    ];
    test.each(nodes)('%s: deletes the MR tag, outputs and summary, latest untouched', async (_label, node) => {
      const repo = `untag-gh/${uniq('app')}`;
      const image = `${env.TB_REGISTRY_TOKEN}/${repo}`;
      const { latest } = await seed(repo, 'MR-3');
      const r = await runGithubAction({
        entry: BUNDLE,
        inputs: { image, tags: 'MR-3', 'dry-run': 'false', method: 'auto' },
        env: { DOCKER_CONFIG: cfg.dir },
        ...(node ? { node } : {}),
      });
      try {
        expect(status({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })).toMatch(/^exit 0/);
        expect(r.outputs).toMatchObject({ deleted: 'MR-3', kept: '', missing: '', 'would-delete': '' });
        expect(r.summary).toContain('### Untag');
        expect(r.summary).toContain('- `MR-3`: deleted');
        expect(r.stdout + r.stderr).toMatch(/1 token request/);
        expect(await skopeoFinds(`${image}:MR-3`, cfg.path)).toBe(false);
        expect(await skopeoDigest(`${image}:latest`, cfg.path)).toBe(latest.digest);
        expect(await skopeoDigest(`${image}:sha-1a2b3c4d`, cfg.path)).toBe(latest.digest);
        expectNoLeaks({
          secrets: { token: env.TB_REGISTRY_TOKEN_PASSWORD },
          texts: { stdout: r.stdout, stderr: r.stderr },
          files: Object.values(r.files),
        });
      } finally {
        r.cleanup();
      }
    });

    test('a protected tag fails with exit 2 and an error annotation', async () => {
      const r = await runGithubAction({
        entry: BUNDLE,
        inputs: { image: `${env.TB_REGISTRY_OPEN}/untag-gh/none`, tags: 'latest' },
        env: { DOCKER_CONFIG: cfg.dir },
      });
      try {
        expect(r.exitCode).toBe(2);
        expect(r.commands).toContainEqual(
          expect.objectContaining({
            command: 'error',
            value: expect.stringContaining("input 'tags': refusing to remove protected tag 'latest'"),
          }),
        );
      } finally {
        r.cleanup();
      }
    });
  });

  describe('GitLab template under gitlab-ci-local', () => {
    test('MR pipeline: the manual stop job removes MR-<iid> with the job’s registry credentials', async () => {
      const repo = `untag-gcl/${uniq('app')}`;
      const registry = env.TB_REGISTRY_TOKEN;
      const image = `${registry}/${repo}`;
      const { latest, mr } = await seed(repo, 'MR-12');
      // no docker config in the job: the step must use CI_REGISTRY_USER/CI_REGISTRY_PASSWORD
      const emptyDockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'untag-gcl-docker-'));
      const ci = {
        stages: ['deploy', 'cleanup'],
        include: [componentInclude('untag', { 'job-name': 'destroy-review' })],
        'deploy-review': {
          stage: 'deploy',
          script: ['echo "deploy $CI_REGISTRY_IMAGE:MR-$CI_MERGE_REQUEST_IID"'],
          environment: { name: 'review/$CI_MERGE_REQUEST_IID', on_stop: 'destroy-review' },
          rules: [{ if: '$CI_MERGE_REQUEST_IID' }],
        },
        'destroy-review': {
          variables: { GIT_STRATEGY: 'none' },
          environment: { name: 'review/$CI_MERGE_REQUEST_IID', action: 'stop' },
        },
        'after-cleanup': {
          stage: '.post',
          needs: ['destroy-review'],
          script: ['echo "removed=$DESTROY_REVIEW_DELETED kept=$DESTROY_REVIEW_KEPT"'],
          rules: [{ if: '$CI_MERGE_REQUEST_IID' }],
        },
      };
      const r = await runGitlabCiLocal({
        ciYml: ci,
        pipeline: { kind: 'mr', mrIid: '12' },
        variables: {
          CI_REGISTRY: registry,
          CI_REGISTRY_IMAGE: image,
          CI_REGISTRY_USER: env.TB_REGISTRY_TOKEN_USER,
          DOCKER_CONFIG: emptyDockerConfig,
        },
        fileVariables: { CI_REGISTRY_PASSWORD: env.TB_REGISTRY_TOKEN_PASSWORD },
        extraArgs: ['--manual', 'destroy-review'],
      });
      try {
        expect(status(r)).toMatch(/^exit 0/);
        const log = r.jobLog('destroy-review');
        expect(log).toContain(`untag ${image}: MR-12 (method registry)`);
        expect(log).toContain(`${image}:MR-12: deleted (${mr.digest})`);
        expect(r.dotenv('destroy-review')).toEqual({
          DESTROY_REVIEW_DELETED: 'MR-12',
          DESTROY_REVIEW_WOULD_DELETE: '',
          DESTROY_REVIEW_KEPT: '',
          DESTROY_REVIEW_MISSING: '',
        });
        expect(r.stdout).toContain('removed=MR-12 kept=');
        expect(await skopeoFinds(`${image}:MR-12`, cfg.path)).toBe(false);
        expect(await skopeoDigest(`${image}:latest`, cfg.path)).toBe(latest.digest);
        expectNoLeaks({
          secrets: { password: env.TB_REGISTRY_TOKEN_PASSWORD },
          texts: { stdout: r.stdout, stderr: r.stderr },
          dirs: [r.dir],
        });
      } finally {
        r.cleanup();
        fs.rmSync(emptyDockerConfig, { recursive: true, force: true });
      }
    });

    test('the job is not in a default-branch pipeline', async () => {
      const r = await runGitlabCiLocal({
        ciYml: {
          stages: ['build', 'cleanup'],
          include: [componentInclude('untag')],
          other: { stage: 'build', script: ['echo other-ran'] },
        },
        pipeline: 'default-branch',
        variables: { CI_REGISTRY_IMAGE: `${env.TB_REGISTRY_OPEN}/untag-gcl/none` },
      });
      try {
        expect(status(r)).toMatch(/^exit 0/);
        expect(r.stdout).toContain('other-ran');
        expect(fs.existsSync(path.join(r.dir, '.gitlab-ci-local/output/untag.log'))).toBe(false);
      } finally {
        r.cleanup();
      }
    });
  });
});
