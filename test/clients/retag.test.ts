// retag through its clients: the bundle as GitHub's runner runs it (Node 20 and 24), the
// generated action.yml and template against their schemas, and the GitLab template under
// gitlab-ci-local in a tag pipeline promoting <short-sha> → the tag with the job's own
// CI_REGISTRY_USER/CI_REGISTRY_PASSWORD on the bearer-token registry.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runOk } from '../support/exec';
import { runGithubAction } from '../support/github';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';
import { requireNode24 } from '../support/node24';
import { validateActionYml, validateGitlabTemplate } from '../support/schema';
import { describeBench, type BenchEnv } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { pushRandomImage, testClient, uniq, writeBenchDockerConfig } from '../support/retag-images';
import { skopeoDigest } from '../support/retag-run';

jest.setTimeout(180_000);

/** A job's dotenv report (gitlab-ci-local keeps the report's own path below the dotenv dir). */
function dotenvOf(dir: string, job: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else
        for (const line of fs.readFileSync(path.join(d, e.name), 'utf8').split('\n'))
          if (line.indexOf('=') > 0) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  };
  walk(path.join(dir, '.gitlab-ci-local', 'artifacts', job, '.gitlab-ci-reports', 'dotenv'));
  return out;
}
const BUNDLE = 'dist/retag/index.js';
const status = (r: { exitCode: number; stdout: string; stderr: string }) =>
  `exit ${r.exitCode}\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`;

describe('generated wrappers', () => {
  test('action.yml passes GitHub’s schema', () => {
    const r = validateActionYml(path.join(repoRoot, 'components/retag/action.yml'));
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
  });
  test('the template passes GitLab’s schema, runs on tags only, and never puts inputs in script', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates/retag.yml'), 'utf8');
    // Realistic values for the empty-default inputs: the helper interpolates text, so an
    // empty one would become YAML null, which GitLab's structured interpolation never gives.
    const r = validateGitlabTemplate(text, {
      destinations: 'registry.example.com/prod/app:v1',
      'insecure-registries': 'registry.internal:5000',
    });
    // gitlab-ci-local 4.73's copy of the schema predates `spec:component` (GitLab 16.11+).
    expect(
      r.errors.filter(
        (e) => !/^header: \/spec must NOT have additional properties \{"additionalProperty":"component"\}/.test(e),
      ),
    ).toEqual([]);
    const body = text.slice(text.indexOf('\n---'));
    expect(body).toContain('- if: $CI_COMMIT_TAG');
    const script = body.slice(body.indexOf('  script:'), body.indexOf('  after_script:'));
    // Only the user's own command lists (array inputs) are interpolated into script.
    const own = /^\s*- \$\[\[ inputs\.(before-script|script) \]\]$/;
    expect(
      script
        .split('\n')
        .filter((l) => !own.test(l))
        .join('\n'),
    ).not.toContain('$[[ inputs.');
  });
});

describe('bundle', () => {
  test('the registry path stays small; the AWS SDK lives in lazy.js, loaded for ecr-api only', () => {
    const index = fs.readFileSync(path.join(repoRoot, 'dist/retag/index.js'), 'utf8');
    const main = fs.readFileSync(path.join(repoRoot, 'dist/retag/main.js'), 'utf8');
    const lazy = fs.statSync(path.join(repoRoot, 'dist/retag/lazy.js')).size;
    expect(index.length + main.length).toBeLessThanOrEqual(150 * 1024);
    expect(index.length + main.length + lazy).toBeLessThanOrEqual(1024 * 1024);
    expect(index + main).not.toContain('BatchGetImageCommand');
    expect(index).toContain('./main.js');
    expect(index).toContain('./lazy.js');
  });
});

describeBench(['registries'], 'retag clients', (env: BenchEnv) => {
  const cfg = writeBenchDockerConfig(env);
  afterAll(() => fs.rmSync(cfg.dir, { recursive: true, force: true }));

  describe('GitHub runtime', () => {
    const node24 = requireNode24();
    const nodes: [string, string | undefined][] = [
      ['node 20', undefined],
      ...(node24 ? [['node 24', node24] as [string, string]] : []),
    ];
    test.each(nodes)('%s: outputs digest and refs, summary written', async (_label, node) => {
      const repo = `retag-gh/${uniq('app')}`;
      const img = await pushRandomImage(testClient(env.TB_REGISTRY_TOKEN, cfg.path, [repo]), repo, 'abcdef12');
      const r = await runGithubAction({
        entry: BUNDLE,
        inputs: {
          source: `${env.TB_REGISTRY_TOKEN}/${repo}:abcdef12`,
          tags: 'v1.0.0\nstable',
          overwrite: 'false',
          method: 'auto',
        },
        env: { DOCKER_CONFIG: cfg.dir },
        ...(node ? { node } : {}),
      });
      try {
        expect(status({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })).toMatch(/^exit 0/);
        expect(r.outputs.digest).toBe(img.digest);
        expect(r.outputs.refs!.split('\n')).toEqual([
          `${env.TB_REGISTRY_TOKEN}/${repo}:v1.0.0`,
          `${env.TB_REGISTRY_TOKEN}/${repo}:stable`,
        ]);
        expect(r.summary).toContain(img.digest);
        expect(await skopeoDigest(`${env.TB_REGISTRY_TOKEN}/${repo}:v1.0.0`, cfg.path)).toBe(img.digest);
        expectNoLeaks({
          secrets: { token: env.TB_REGISTRY_TOKEN_PASSWORD },
          texts: { stdout: r.stdout, stderr: r.stderr },
          files: Object.values(r.files),
        });
      } finally {
        r.cleanup();
      }
    });

    test('a missing source fails with an error annotation naming what was asked', async () => {
      const r = await runGithubAction({
        entry: BUNDLE,
        inputs: { source: `${env.TB_REGISTRY_OPEN}/retag-gh/none:deadbeef`, tags: 'v1' },
        env: { DOCKER_CONFIG: cfg.dir },
      });
      try {
        expect(r.exitCode).toBe(1);
        expect(r.commands).toContainEqual(
          expect.objectContaining({
            command: 'error',
            value: expect.stringContaining(
              `source image not found (registry ${env.TB_REGISTRY_OPEN}, repository retag-gh/none, tag deadbeef`,
            ),
          }),
        );
      } finally {
        r.cleanup();
      }
    });
  });

  describe('GitLab template under gitlab-ci-local', () => {
    test('tag pipeline v1.0.0: promotes <short-sha> → v1.0.0 with the job’s registry credentials', async () => {
      const repo = `retag-gcl/${uniq('app')}`;
      const registry = env.TB_REGISTRY_TOKEN;
      const seed = await pushRandomImage(testClient(registry, cfg.path, [repo]), repo, 'seed', {
        layers: [1024, 2048],
      });
      // no docker config in the job: the step must use CI_REGISTRY_USER/CI_REGISTRY_PASSWORD
      const emptyDockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'retag-gcl-docker-'));
      const ci = {
        stages: ['build', 'deploy'],
        include: [componentInclude('retag')],
        // stands in for the build job of the same commit: the image under <short-sha>
        'build-image': {
          stage: 'build',
          script: [
            'skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false --authfile "$RETAG_TEST_AUTHFILE" "docker://$CI_REGISTRY_IMAGE:seed" "docker://$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"',
          ],
        },
        'use-digest': { stage: '.post', needs: ['retag'], script: ['echo "promoted=$RETAG_DIGEST $RETAG_REFS"'] },
      };
      const r = await runGitlabCiLocal({
        ciYml: ci,
        pipeline: { kind: 'tag', tag: 'v1.0.0' },
        variables: {
          CI_REGISTRY: registry,
          CI_REGISTRY_IMAGE: `${registry}/${repo}`,
          CI_REGISTRY_USER: env.TB_REGISTRY_TOKEN_USER,
          DOCKER_CONFIG: emptyDockerConfig,
          RETAG_TEST_AUTHFILE: cfg.path,
        },
        fileVariables: { CI_REGISTRY_PASSWORD: env.TB_REGISTRY_TOKEN_PASSWORD },
      });
      try {
        expect(status(r)).toMatch(/^exit 0/);
        const sha = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: r.dir })).stdout.trim().slice(0, 8);
        const log = r.jobLog('retag');
        expect(log).toContain(`retag ${registry}/${repo}:${sha} → ${registry}/${repo}:v1.0.0`);
        expect(log).toContain(': tagged');
        expect(dotenvOf(r.dir, 'retag')).toEqual({
          RETAG_DIGEST: seed.digest,
          RETAG_REFS: `${registry}/${repo}:v1.0.0`,
        });
        expect(r.stdout).toContain(`promoted=${seed.digest} ${registry}/${repo}:v1.0.0`);
        expect(await skopeoDigest(`${registry}/${repo}:v1.0.0`, cfg.path)).toBe(seed.digest);
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
          stages: ['build', 'deploy'],
          include: [componentInclude('retag')],
          other: { stage: 'build', script: ['echo other-ran'] },
        },
        pipeline: 'default-branch',
        variables: { CI_REGISTRY_IMAGE: `${env.TB_REGISTRY_OPEN}/retag-gcl/none` },
      });
      try {
        expect(status(r)).toMatch(/^exit 0/);
        expect(r.stdout).toContain('other-ran');
        expect(r.stdout).not.toMatch(/^retag\s/m);
        expect(fs.existsSync(path.join(r.dir, '.gitlab-ci-local/output/retag.log'))).toBe(false);
      } finally {
        r.cleanup();
      }
    });
  });
});
