// Several steps in one job, from the template alone: build-push with `aws-role-arn` runs
// assume-role (the job's id token) → ecr-login → build-push in one job, the dist/ of all
// three fetched at the pinned sha (no SHIPLINE_HOME), every cleanup in after_script
// whatever failed; run-in-container pulls a private image with credentials from a docker
// config JSON variable (`auth-config-variable` → registry-login). Outputs are named for the
// job; nothing is left: no run directory, no docker config, no credential in the log.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintIdToken } from '../endpoints/oidc';
import { run, runOk } from '../support/exec';
import { componentInclude, GITLAB_REMOTE, runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';
import { describeBench } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { privateRole, stsRequests } from '../support/assume-role-aws';
import { skopeoDigest } from '../support/retag-run';
import { writeBenchDockerConfig } from '../support/retag-images';

jest.setTimeout(600_000);

describeBench(
  ['aws', 'docker', 'registry-basic', 'registry-token'],
  'steps composed in one job (gitlab-ci-local)',
  (bench) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-compose-'));
    const results: GitlabRunResult[] = [];
    const images: string[] = [];
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    afterAll(async () => {
      results.forEach((r) => r.cleanup());
      for (const i of images) await run('docker', ['image', 'rm', '--force', i]);
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** The job's environment: no AWS credentials or docker config of the test, a HOME of its own. */
    const jobEnv = (gitConfig?: string) => {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !/^(AWS_|DOCKER_CONFIG$)/.test(k)) env[k] = v;
      env.HOME = home;
      if (gitConfig) env.GIT_CONFIG_GLOBAL = gitConfig;
      return env;
    };
    const awsVars = {
      AWS_ENDPOINT_URL_STS: bench.TB_STS_URL,
      AWS_ENDPOINT_URL_ECR: bench.TB_ECR_URL,
      AWS_EC2_METADATA_DISABLED: 'true',
      BASE_IMAGE: bench.TB_BASE_IMAGE,
    };
    /** An ECR-side docker config to look at the registry with (the test's own, not the job's). */
    const ecrConfig = writeBenchDockerConfig(bench, {
      [bench.TB_ECR_REGISTRY]: { user: 'AWS', password: bench.TB_ECR_PASSWORD },
    });
    /** Run directories the job's log names: all must be gone after the job. */
    const runDirs = (log: string) => [...new Set(log.match(/\/tmp\/shipline-\d+(?=\/)/g) ?? [])];

    /**
     * A project repository whose own origin serves the template's fetch of dist/ (git
     * insteadOf), so the job runs exactly what the include pins, with no SHIPLINE_HOME.
     */
    async function fetchableProject(name: string) {
      const outer = fs.mkdtempSync(path.join(tmp, `${name}-`));
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
      return { dir, gitConfig };
    }

    async function runBuild(repo: string, dockerfile: string) {
      const role = await privateRole(bench, { subjects: ['project_path:shipline/shipline:ref_type:branch:ref:main'] });
      const project = await fetchableProject('build');
      const r = await runGitlabCiLocal({
        ciYml: {
          include: [
            componentInclude('build-push', {
              'job-name': 'build-app',
              images: repo,
              'build-args': 'BASE_IMAGE',
              'aws-role-arn': role,
              'aws-region': bench.TB_AWS_REGION,
              'before-script': ['test -n "$AWS_SESSION_TOKEN"', 'echo "before: DOCKER_CONFIG=$DOCKER_CONFIG"'],
              script: ['echo "after: $CI_JOB_NAME"'],
            }),
          ],
        },
        cwd: project.dir,
        files: { Dockerfile: dockerfile },
        pipeline: 'default-branch',
        variables: awsVars,
        // gitlab-ci-local mints no id_tokens: the one the template declares comes as a file variable.
        fileVariables: { SHIPLINE_AWS_ID_TOKEN: mintIdToken({ flavor: 'gitlab', ttlSeconds: 600 }) },
        shiplineHome: null,
        env: jobEnv(project.gitConfig),
      });
      results.push(r);
      return { r, role, log: r.jobLog('build-app') };
    }

    test('assume-role → ecr-login → build-push in one job from the template alone: pushed, outputs named for the job, nothing left', async () => {
      const repo = `${bench.TB_ECR_REGISTRY}/shipline/compose-${crypto.randomBytes(4).toString('hex')}`;
      images.push(`${repo}:latest`);
      const { r, role, log } = await runBuild(repo, 'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nLABEL composed=yes\n');
      if (r.exitCode !== 0) throw new Error(`pipeline failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
      // The three steps ran from the fetched dist/, in order, with one STS call.
      const order = [
        'assumed arn:aws:sts::123456789012:assumed-role/',
        `logged in to ${bench.TB_ECR_REGISTRY}`,
        'before: DOCKER_CONFIG=/tmp/shipline-',
        'after: build-app',
      ];
      let at = -1;
      for (const line of order) {
        const i = log.indexOf(line, at + 1);
        expect({ line, found: i > at }).toEqual({ line, found: true });
        at = i;
      }
      expect(await stsRequests(bench, role)).toHaveLength(1);
      // after_script: build-push's post, then ecr-login's (the entry removed), then assume-role's.
      expect(log).toContain(`removed ${bench.TB_ECR_REGISTRY} from /tmp/shipline-`);

      const report = r.dotenv('build-app') ?? {};
      const digest = await skopeoDigest(`${repo}:latest`, ecrConfig.path);
      expect(report.BUILD_APP_DIGEST).toBe(digest);
      expect(report.BUILD_APP_TAGS).toContain(`${repo}:latest`);
      expect(report.BUILD_APP_ASSUME_ROLE_AWS_ACCOUNT_ID).toBe('123456789012');
      expect(report.BUILD_APP_ECR_LOGIN_REGISTRY).toBe(bench.TB_ECR_REGISTRY);
      // Only declared, non-secret outputs of another job's use: no paths of this runner, no credentials.
      expect(Object.keys(report).filter((k) => /DOCKER_CONFIG|SECRET|SESSION|ACCESS_KEY/.test(k))).toEqual([]);
      expect(Object.keys(report).every((k) => k.startsWith('BUILD_APP_'))).toBe(true);

      const dirs = runDirs(log);
      expect(dirs.length).toBeGreaterThan(0);
      for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
      expect(fs.existsSync(path.join(home, '.docker'))).toBe(false); // the runner user's config never written
      expectNoLeaks({
        secrets: { ecrPassword: bench.TB_ECR_PASSWORD },
        texts: { stdout: r.stdout, stderr: r.stderr, log },
        dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts')],
      });
    });

    test('a build that fails: nothing pushed, and every credential the job made is gone', async () => {
      const repo = `${bench.TB_ECR_REGISTRY}/shipline/compose-fail-${crypto.randomBytes(4).toString('hex')}`;
      const { r, log } = await runBuild(repo, 'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY no-such-file /x\n');
      expect(r.exitCode).not.toBe(0);
      expect(log).toContain(`logged in to ${bench.TB_ECR_REGISTRY}`);
      expect(log).not.toContain('after: build-app'); // `script` lines after a failed step do not run
      expect(log).toContain(`removed ${bench.TB_ECR_REGISTRY} from /tmp/shipline-`); // after_script did
      const inspect = await run('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--authfile',
        ecrConfig.path,
        `docker://${repo}:latest`,
      ]);
      expect(inspect.code).not.toBe(0);
      for (const d of runDirs(log)) expect(fs.existsSync(d)).toBe(false);
      expect(fs.existsSync(path.join(home, '.docker'))).toBe(false);
      expectNoLeaks({
        secrets: { ecrPassword: bench.TB_ECR_PASSWORD },
        texts: { stdout: r.stdout, stderr: r.stderr, log },
      });
    });

    test('run-in-container pulls a private image with a docker config JSON variable; the login goes with the job', async () => {
      const image = `${bench.TB_REGISTRY_TOKEN}/shipline/compose-private-${crypto.randomBytes(4).toString('hex')}:1`;
      const own = writeBenchDockerConfig(bench);
      await runOk('docker', ['tag', bench.TB_BASE_IMAGE_LOCAL, image]);
      await runOk('docker', ['--config', own.dir, 'push', '-q', image]);
      await runOk('docker', ['image', 'rm', image]);
      images.push(image);
      const json = JSON.stringify({
        auths: {
          [bench.TB_REGISTRY_TOKEN]: {
            auth: Buffer.from(`${bench.TB_REGISTRY_TOKEN_USER}:${bench.TB_REGISTRY_TOKEN_PASSWORD}`).toString('base64'),
          },
        },
      });
      const r = await runGitlabCiLocal({
        ciYml: {
          include: [
            componentInclude('run-in-container', {
              'job-name': 'smoke',
              image,
              'auth-config-variable': 'HARBOR_ROBOT_CREDS_JSON',
              run: 'echo "inside: $(cat /etc/hostname | wc -c)"',
              'copy-in': 'none',
            }),
          ],
        },
        pipeline: 'default-branch',
        fileVariables: { HARBOR_ROBOT_CREDS_JSON: json },
        env: jobEnv(),
      });
      results.push(r);
      const log = r.jobLog('smoke');
      if (r.exitCode !== 0) throw new Error(`pipeline failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
      expect(log).toContain(
        `logged in to ${bench.TB_REGISTRY_TOKEN} as ${bench.TB_REGISTRY_TOKEN_USER} (variable HARBOR_ROBOT_CREDS_JSON)`,
      );
      expect(log).toMatch(/inside: \d+/);
      expect(r.dotenv('smoke')).toEqual(expect.objectContaining({ SMOKE_EXIT_CODE: '0' }));
      for (const d of runDirs(log)) expect(fs.existsSync(d)).toBe(false);
      expect(fs.existsSync(path.join(home, '.docker'))).toBe(false);
      expectNoLeaks({
        secrets: { password: bench.TB_REGISTRY_TOKEN_PASSWORD },
        texts: { stdout: r.stdout, stderr: r.stderr, log },
        dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts')],
      });
      fs.rmSync(own.dir, { recursive: true, force: true });
    });
  },
);
