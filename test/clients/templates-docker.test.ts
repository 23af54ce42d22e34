// Every GitLab template run the way a runner runs it: gitlab-ci-local's docker executor, each job
// in a container of the shipline job image built from this checkout (test/support/job-image.ts),
// which stands in as the templates' own default image ($CI_REGISTRY/shipline/shipline/job:<sha>,
// no `image` input anywhere), with a helper image FROM the same Debian base, host networking (the
// bench is on loopback) and the engine's socket mounted (socket binding). Three pipelines, the
// templates that are independent sharing one:
//   A, default branch: image-tags, build-push (twice: plain, and composed with aws-role-arn →
//      assume-role + ecr-login + push to ECR), kaniko-build (buildah in the container; the runner
//      lifts only docker's seccomp profile), run-in-container, assume-role, ecr-login (static keys),
//      registry-login, vault-secrets, ssh-key, and a later job reading every dotenv report;
//   B, tag v1.0.0: build-push pushes <short-sha> with the job's registry credentials, retag
//      promotes it to the tag;
//   C, merge request 12: build-push pushes MR-12, untag (manual) deletes it; a failing
//      run-in-container job (allow_failure) still cleans up in after_script.
// Each job's `script` probes what matters in a container: SHIPLINE_HOME is the image's
// /opt/shipline, the private run dir exists with mode 700, nothing was fetched. /tmp of the job
// containers is a host directory of this test, so the run dirs' removal by after_script is seen.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { mintIdToken } from '../endpoints/oidc';
import { repoRoot, run, runOk } from '../support/exec';
import { componentInclude, runGitlabCiLocal, type GitlabRunResult, type RunGitlabOptions } from '../support/gitlab';
import { ensureJobImages, type JobImages } from '../support/job-image';
import { benchControl, describeBench, type BenchEnv } from '../support/testbed';
import { expectNoLeaks, plantCanaries } from '../support/canary';
import { privateRole, stsRequests } from '../support/assume-role-aws';
import { gitlabDotenv, removeRepoImages } from '../support/build-push-run';
import { writeBenchDockerConfig } from '../support/retag-images';
import { skopeoDigest } from '../support/retag-run';

jest.setTimeout(600_000);

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const sha256 = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');
const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
const status = (r: GitlabRunResult) => `exit ${r.exitCode}\n${(r.stdout + r.stderr).split('\n').slice(-60).join('\n')}`;

/** What a job's `script` prints: the home its steps ran from, the run dir's mode, whether the dist/ fetch ran. */
const probe = (job: string) =>
  `echo "probe ${job}: home=$SHIPLINE_HOME run-dir=$(stat -c %a "$SHIPLINE_RUN_DIR") fetched=$([ -e "$SHIPLINE_RUN_DIR/code" ] && echo yes || echo no) node=$(command -v node)"`;
const probed = (job: string) => `probe ${job}: home=/opt/shipline run-dir=700 fetched=no node=/usr/local/bin/node`;

/** The inputs a template declares (its `spec:inputs`), read from the generated file. */
const templateInputs = (step: string): string[] => {
  const text = fs.readFileSync(path.join(repoRoot, 'templates', `${step}.yml`), 'utf8');
  const spec = parseYaml(text.slice(0, text.indexOf('\n---'))) as { spec: { inputs: Record<string, unknown> } };
  return Object.keys(spec.spec.inputs);
};
/** The template's include, with the probe first in its `script` when it has that input. */
const withProbe = (step: string, inputs: Record<string, unknown>) => {
  const job = String(inputs['job-name'] ?? step);
  const script = (inputs.script as string[] | undefined) ?? [];
  if (!templateInputs(step).includes('script')) return componentInclude(step, inputs);
  return componentInclude(step, { ...inputs, script: [probe(job), ...script] });
};
/** The probe's line (jobs of templates with a `script` input), else the image's SHIPLINE_HOME from the default before_script. */
const expectProbed = (r: GitlabRunResult, jobs: Record<string, string>) => {
  for (const [job, step] of Object.entries(jobs)) {
    if (templateInputs(step).includes('script')) expect(r.jobLog(job)).toContain(probed(job));
    else expect(r.jobLog(job)).toMatch(new RegExp(`^gcl-job ${job} \\d+ home=/opt/shipline$`, 'm'));
  }
};

/** The job log without gitlab-ci-local's echo of each command (`$ …`): what the commands printed. */
const printed = (log: string) =>
  log
    .split('\n')
    .filter((l) => !l.startsWith('$ '))
    .join('\n');
/** Signs of an install or a fetch at job time. */
const INSTALLS = /\b(apk (add|update)|apt-get (update|install)|npm (install|ci|i)\b|git (fetch|clone)|Cloning into)/;

/** The image gitlab-ci-local started a job in (`<job> starting <image> (<stage>)`). */
const startedIn = (r: GitlabRunResult, job: string) =>
  new RegExp(`^${job}\\s+starting (\\S+) \\(`, 'm').exec(r.stdout)?.[1];

/** The later job's `got NAME=[value]` lines. */
const show = (names: string[]) => names.map((n) => `printf 'got %s=[%s]\\n' ${n} "$${n}"`);
const got = (log: string, name: string) => new RegExp(`^got ${name}=\\[(.*)\\]$`, 'm').exec(log)?.[1];

describeBench(
  ['docker', 'registries', 'aws', 'vault'],
  'templates in the job image (docker executor)',
  (tb: BenchEnv) => {
    const id = crypto.randomBytes(4).toString('hex');
    const results: GitlabRunResult[] = [];
    const tmpDirs: string[] = [];
    const localRepos: string[] = [];
    let images: JobImages;
    const cfg = writeBenchDockerConfig(tb);
    const tempDir = (prefix: string) => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      tmpDirs.push(d);
      return d;
    };

    /** Files of every pipeline: an app built by build-push and kaniko-build, copied into run-in-container. */
    const appFiles = {
      'app/Dockerfile': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n',
      'app/hello.txt': `hello from ${id}\n`,
      'kaniko/Dockerfile': `FROM ${tb.TB_BASE_IMAGE}\nCOPY hello.txt /hello.txt\nRUN echo built-by-buildah > /built.txt\n`,
      'kaniko/hello.txt': 'hi\n',
    };

    /** One pipeline under the docker executor; /tmp of its job containers is `jobTmp` on the host. */
    const pipeline = async (
      opts: Omit<RunGitlabOptions, 'executor' | 'docker'> & { jobTmp: string; securityOpt?: string[] },
    ) => {
      const { jobTmp, securityOpt, ...rest } = opts;
      const ciYml = rest.ciYml as Record<string, unknown>;
      const r = await runGitlabCiLocal({
        ...rest,
        // every job (template jobs have no before_script of their own) names its CI_JOB_ID
        ciYml: { default: { before_script: ['echo "gcl-job $CI_JOB_NAME $CI_JOB_ID home=$SHIPLINE_HOME"'] }, ...ciYml },
        files: { ...appFiles, ...rest.files },
        executor: 'docker',
        docker: {
          helperImage: images.helperImage,
          defaultImage: images.jobImage,
          volumes: [`${jobTmp}:/tmp`],
          ...(securityOpt ? { securityOpt } : {}),
        },
        timeoutMs: 480_000,
      });
      results.push(r);
      return r;
    };

    /** The template jobs ran in the default image, printed no install or fetch, and left no run dir behind. */
    const expectContainerRun = (r: GitlabRunResult, jobs: string[], jobTmp: string) => {
      for (const job of jobs) {
        expect(`${job}: ${startedIn(r, job)}`).toMatch(new RegExp(`^${job}: \\S+/shipline/shipline/job:${r.sha}$`));
        const log = r.jobLog(job);
        expect(`${job}: ${printed(log).match(INSTALLS)?.[0] ?? 'nothing installed or fetched'}`).toBe(
          `${job}: nothing installed or fetched`,
        );
        // gitlab-ci-local prints this on its own output, not in the job log
        expect(r.stdout).toMatch(new RegExp(`^${job}\\s+Running after script\\.\\.\\.$`, 'm'));
      }
      // after_script of every job removed its /tmp/shipline-<job id> (and the DOCKER_CONFIG in it).
      expect(fs.readdirSync(jobTmp).filter((n) => n.startsWith('shipline-'))).toEqual([]);
    };

    beforeAll(async () => {
      images = await ensureJobImages();
      process.stderr.write(
        `[templates-docker] job image ${images.jobImage} (${images.built.jobImage ? 'built' : 'reused'}), helper ${images.helperImage} (${images.built.helperImage ? 'built' : 'reused'}) in ${(images.ms / 1000).toFixed(1)} s\n`,
      );
    }, 2_400_000);

    afterAll(() => {
      for (const r of results) r.cleanup();
      for (const repo of localRepos) removeRepoImages(repo);
      for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
      fs.rmSync(cfg.dir, { recursive: true, force: true });
    });

    describe('A: default branch, every independent template in one pipeline', () => {
      const jobTmp = tempDir('shipline-tpl-docker-tmp-');
      const app = `${tb.TB_REGISTRY_OPEN}/tpl-docker-${id}/app`;
      const kaniko = `${tb.TB_REGISTRY_OPEN}/tpl-docker-${id}/kaniko`;
      const ecrRepo = `${tb.TB_ECR_REGISTRY}/shipline/tpl-docker-${id}`;
      const ecrPushed = `${tb.TB_ECR_REGISTRY}/shipline/tpl-docker-${id}-ecr-login:1`;
      const rlPushed = `${tb.TB_REGISTRY_TOKEN}/tpl-docker-${id}/registry-login:1`;
      const vaultValues = plantCanaries('vaultpw');
      const secrets = plantCanaries('unusedcanary');
      let key: { text: string; lines: Record<string, string>; body: Record<string, string> };
      let token: string;
      let role: string;
      let r: GitlabRunResult;
      /** job → template */
      const steps: Record<string, string> = {
        'image-tags': 'image-tags',
        'build-app': 'build-push',
        'build-ecr': 'build-push',
        'kaniko-build': 'kaniko-build',
        'run-in-container': 'run-in-container',
        'assume-role': 'assume-role',
        'ecr-login': 'ecr-login',
        'registry-login': 'registry-login',
        'vault-secrets': 'vault-secrets',
        'ssh-key': 'ssh-key',
      };
      const jobs = Object.keys(steps);
      const reported = [
        'IMAGE_TAGS_TAGS',
        'BUILD_APP_DIGEST',
        'BUILD_APP_IMAGE',
        'BUILD_ECR_DIGEST',
        'BUILD_ECR_ASSUME_ROLE_AWS_ACCOUNT_ID',
        'KANIKO_BUILD_DIGEST',
        'RUN_IN_CONTAINER_EXIT_CODE',
        'ASSUME_ROLE_AWS_ACCOUNT_ID',
        'ECR_LOGIN_REGISTRY',
        'VAULT_SECRETS_NAMES',
        'SSH_KEY_FINGERPRINT',
      ];

      beforeAll(async () => {
        localRepos.push(app, ecrRepo, ecrPushed.replace(/:1$/, ''), rlPushed.replace(/:1$/, ''));
        const keyDir = tempDir('shipline-tpl-docker-key-');
        await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tpl-docker', '-f', path.join(keyDir, 'k')]);
        const text = fs.readFileSync(path.join(keyDir, 'k'), 'utf8');
        const lines = text.trimEnd().split('\n');
        key = {
          text,
          lines: Object.fromEntries(lines.map((l, i) => [`SSH_KEY_LINE_${i + 1}`, l])),
          body: Object.fromEntries(lines.filter((l) => !l.startsWith('-----')).map((l, i) => [`keyline${i + 1}`, l])),
        };
        await benchControl(tb.TB_VAULT_URL).post('vault/secrets', {
          path: `secret/fake-app/tpl-docker-${id}/app`,
          data: { password: vaultValues.vaultpw },
        });
        role = await privateRole(tb, { subjects: ['project_path:shipline/shipline:ref_type:branch:ref:main'] });
        token = mintIdToken({ flavor: 'gitlab', ttlSeconds: 900 });
        const pushPull = (ref: string) => [
          `docker pull -q ${tb.TB_BASE_IMAGE}`,
          `docker tag ${tb.TB_BASE_IMAGE} ${ref}`,
          `docker push -q ${ref}`,
          `docker image rm ${ref}`,
        ];
        const inc = (step: string, inputs: Record<string, unknown>) => withProbe(step, { stage: 'build', ...inputs });
        r = await pipeline({
          jobTmp,
          // buildah (kaniko-build) unshares a user namespace: docker's default seccomp profile forbids it
          securityOpt: ['seccomp=unconfined'],
          pipeline: 'default-branch',
          ciYml: {
            stages: ['build', 'test'],
            include: [
              inc('image-tags', { images: app }),
              inc('build-push', {
                'job-name': 'build-app',
                context: 'app',
                images: app,
                'build-args': `BASE_IMAGE=${tb.TB_BASE_IMAGE}`,
              }),
              inc('build-push', {
                'job-name': 'build-ecr',
                context: 'app',
                images: ecrRepo,
                'build-args': `BASE_IMAGE=${tb.TB_BASE_IMAGE}`,
                'aws-role-arn': role,
                'aws-region': tb.TB_AWS_REGION,
              }),
              inc('kaniko-build', { context: 'kaniko', images: kaniko }),
              inc('run-in-container', {
                image: tb.TB_BASE_IMAGE,
                mode: 'start',
                run: 'cat app/hello.txt\necho "made in $(hostname)" > made.txt',
                'copy-out': 'made.txt:ric/made.txt',
                script: [
                  'docker ps --filter label=dev.shipline.step=run-in-container --format "running {{.Names}}"',
                  'cat ric/made.txt',
                ],
              }),
              inc('assume-role', {
                'role-arn': role,
                region: tb.TB_AWS_REGION,
                'web-identity-token-variable': 'AWS_ID_TOKEN',
                script: [
                  'test -n "$AWS_SESSION_TOKEN" && test -n "$AWS_SECRET_ACCESS_KEY" && echo "credentials in the job"',
                ],
              }),
              inc('ecr-login', { region: tb.TB_AWS_REGION, script: pushPull(ecrPushed) }),
              inc('registry-login', {
                registry: tb.TB_REGISTRY_TOKEN,
                username: '$RL_USER',
                password: '$RL_PASSWORD',
                script: ['echo "docker-config=$DOCKER_CONFIG"', ...pushPull(rlPushed)],
              }),
              inc('vault-secrets', {
                script: ['printf "password-sha=%s\\n" "$(printf %s "$APP_PASSWORD" | sha256sum | cut -d" " -f1)"'],
              }),
              inc('ssh-key', {
                'key-variables': 'SSH_KEY_LINE_',
                'known-hosts': HOST_KEY,
                host: 'git.example.com',
                script: [
                  'eval "set -- $GIT_SSH_COMMAND"; printf "key-file=%s key-sha=%s\\n" "$3" "$(sha256sum < "$3" | cut -d" " -f1)"',
                ],
              }),
            ],
            // static keys for the ecr-login job only (job keys merge into the included job, as on GitLab)
            'ecr-login': {
              variables: { AWS_ACCESS_KEY_ID: '$STATIC_KEY_ID', AWS_SECRET_ACCESS_KEY: '$STATIC_SECRET' },
            },
            later: { stage: 'test', image: images.jobImage, needs: jobs, script: show(reported) },
          },
          variables: {
            AWS_ENDPOINT_URL_STS: tb.TB_STS_URL,
            AWS_ENDPOINT_URL_ECR: tb.TB_ECR_URL,
            AWS_EC2_METADATA_DISABLED: 'true',
            VAULT_ADDR: tb.TB_VAULT_URL,
            V_APP_PASSWORD: `secret/fake-app/tpl-docker-${id}/app/password`,
            RL_USER: tb.TB_REGISTRY_TOKEN_USER,
          },
          fileVariables: {
            AWS_ID_TOKEN: token,
            // GitLab would mint it from the template's id_tokens; gitlab-ci-local has no id_tokens
            SHIPLINE_AWS_ID_TOKEN: token,
            STATIC_KEY_ID: tb.TB_AWS_ACCESS_KEY_ID,
            STATIC_SECRET: tb.TB_AWS_SECRET_ACCESS_KEY,
            RL_PASSWORD: tb.TB_REGISTRY_TOKEN_PASSWORD,
            VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID,
            VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID,
            UNUSED_CANARY: secrets.unusedcanary,
            ...key.lines,
          },
        });
      }, 600_000);

      test('the pipeline passes', () => {
        expect(status(r)).toMatch(/^exit 0/);
      });

      test('every template job ran in the default job image from /opt/shipline, nothing installed or fetched; run dirs 0700, removed by after_script', () => {
        expectContainerRun(r, jobs, jobTmp);
        expectProbed(r, steps);
        expect(startedIn(r, 'later')).toBe(images.jobImage);
      });

      test('a later job reads every dotenv report', () => {
        const later = r.jobLog('later');
        const reports = Object.fromEntries(jobs.map((j) => [j, gitlabDotenv(r.dir, j) ?? {}]));
        const all = Object.assign({}, ...Object.values(reports)) as Record<string, string>;
        for (const name of reported) {
          expect(`${name}=${all[name]}`).toMatch(new RegExp(`^${name}=.+`));
          expect(`${name}=${got(later, name)}`).toBe(`${name}=${all[name]}`);
        }
      });

      test('image-tags and build-push: tags of the default branch; the pushed digest is the registry digest', async () => {
        const short = r.sha.slice(0, 8);
        expect(gitlabDotenv(r.dir, 'image-tags')?.IMAGE_TAGS_TAGS).toBe(`${app}:${short} ${app}:latest`);
        // its env file went to the job's own run dir (/tmp/shipline-<CI_JOB_ID>), gone after the job
        const log = r.jobLog('image-tags');
        const jobId = /^gcl-job image-tags (\d+) /m.exec(log)?.[1];
        expect(log).toContain(`to /tmp/shipline-${jobId}/env`);
        expect(fs.existsSync(path.join(jobTmp, `shipline-${jobId}`))).toBe(false);
        const bp = gitlabDotenv(r.dir, 'build-app')!;
        expect(bp.BUILD_APP_TAGS).toBe(`${app}:${short} ${app}:latest`);
        expect(bp.BUILD_APP_IMAGE).toBe(`${app}@${bp.BUILD_APP_DIGEST}`);
        expect(await skopeoDigest(`${app}:${short}`)).toBe(bp.BUILD_APP_DIGEST);
        // build-app and build-ecr build the same context at once on the one engine: the RUN step runs in a
        // container through the mounted socket in at least one; the other may take the layer from the cache.
        const outcome = (job: string) => {
          const log = r.jobLog(job);
          const step = log.slice(log.indexOf('RUN cat /hello.txt'));
          if (new RegExp(`^RUN cat /hello\\.txt\n ---> Running in [0-9a-f]{12}\nhello from ${id}\n`).test(step))
            return 'ran';
          return step.startsWith('RUN cat /hello.txt\n ---> Using cache\n') ? 'cached' : step.slice(0, 300);
        };
        const outcomes = ['build-app', 'build-ecr'].map(outcome);
        expect(outcomes).toContain('ran');
        for (const o of outcomes) expect(['ran', 'cached']).toContain(o);
      });

      test('build-push with aws-role-arn: assume-role (one STS call with the id token) + ecr-login + push to ECR in one job; cleanup in after_script', async () => {
        const log = r.jobLog('build-ecr');
        const report = gitlabDotenv(r.dir, 'build-ecr')!;
        expect(report.BUILD_ECR_ASSUME_ROLE_AWS_ACCOUNT_ID).toBe(tb.TB_ECR_ACCOUNT);
        expect(await skopeoDigest(`${ecrRepo}:${r.sha.slice(0, 8)}`, cfg.path)).toBe(report.BUILD_ECR_DIGEST);
        expect(log).toContain(`logged in to ${tb.TB_ECR_REGISTRY}`);
        expect(log).toMatch(
          new RegExp(
            `removed ${tb.TB_ECR_REGISTRY.replace(/\./g, '\\.')} from /tmp/shipline-\\d+/docker/config\\.json`,
          ),
        );
        // this role: build-ecr and assume-role, one AssumeRoleWithWebIdentity each
        expect(await stsRequests(tb, role, 'AssumeRoleWithWebIdentity')).toHaveLength(2);
      });

      test('kaniko-build: buildah inside the job container builds FROM the bench registry and pushes', async () => {
        const log = r.jobLog('kaniko-build');
        expect(log).toContain('builder=buildah');
        const digest = gitlabDotenv(r.dir, 'kaniko-build')?.KANIKO_BUILD_DIGEST;
        expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(await skopeoDigest(`${kaniko}:${r.sha.slice(0, 8)}`)).toBe(digest);
      });

      test('run-in-container: a container on the host engine, the workspace copied in over the socket, results out; removed in after_script', () => {
        const log = r.jobLog('run-in-container');
        expect(log).toContain(`hello from ${id}`);
        const name = /started container (\S+) of/.exec(log)?.[1];
        expect(name).toBeDefined();
        expect(log).toContain(`running ${name}`); // still there for the script lines
        expect(log).toMatch(/^made in \S+$/m); // copied out into the job's workspace
        expect(log).toContain(`removed container ${name}`);
        expect(docker('container', 'inspect', name!).status).not.toBe(0);
        expect(gitlabDotenv(r.dir, 'run-in-container')?.RUN_IN_CONTAINER_EXIT_CODE).toBe('0');
      });

      test('assume-role and ecr-login: credentials for the script lines, docker push to ECR with the static keys', () => {
        const ar = r.jobLog('assume-role');
        expect(ar).toContain('with web identity token in $AWS_ID_TOKEN');
        expect(ar).toMatch(/^credentials in the job$/m);
        const ecr = r.jobLog('ecr-login');
        expect(ecr).toContain(`logged in to ${tb.TB_ECR_REGISTRY}`);
        expect(ecr).toMatch(new RegExp(`removed ${tb.TB_ECR_REGISTRY.replace(/\./g, '\\.')} from`));
        expect(gitlabDotenv(r.dir, 'ecr-login')?.ECR_LOGIN_REGISTRY).toBe(tb.TB_ECR_REGISTRY);
      });

      test('registry-login: docker push through the socket with the private DOCKER_CONFIG of the job', async () => {
        const log = r.jobLog('registry-login');
        expect(log).toContain(`logged in to ${tb.TB_REGISTRY_TOKEN} as ${tb.TB_REGISTRY_TOKEN_USER}`);
        // a private config inside the job's run dir
        expect(log).toMatch(/^docker-config=\/tmp\/shipline-\d+\/\S+$/m);
        expect(await skopeoDigest(rlPushed, cfg.path)).toMatch(/^sha256:/);
      });

      test('vault-secrets and ssh-key: values reach the script lines, never the report; key dir gone', () => {
        expect(r.jobLog('vault-secrets')).toContain(`password-sha=${sha256(vaultValues.vaultpw)}`);
        expect(gitlabDotenv(r.dir, 'vault-secrets')).toEqual({ VAULT_SECRETS_NAMES: 'APP_PASSWORD' });
        // the key file lies in the job's run dir under /tmp (a host directory here): gone after the job
        const m = /^key-file=(\/tmp\/shipline-\d+\/\S+) key-sha=(\S+)$/m.exec(r.jobLog('ssh-key'));
        expect(m?.[2]).toBe(sha256(key.text));
        expect(fs.existsSync(path.join(jobTmp, path.relative('/tmp', m![1]!)))).toBe(false);
      });

      test('no secret in any output, report, artifact or the jobs’ /tmp', () => {
        expectNoLeaks({
          secrets: {
            token,
            awsSecret: tb.TB_AWS_SECRET_ACCESS_KEY,
            ecrPassword: tb.TB_ECR_PASSWORD,
            tokenPassword: tb.TB_REGISTRY_TOKEN_PASSWORD,
            vaultSecretId: tb.TB_VAULT_SECRET_ID,
            ...vaultValues,
            ...secrets,
            ...key.body,
          },
          texts: { stdout: r.stdout, stderr: r.stderr, ...Object.fromEntries(jobs.map((j) => [j, r.jobLog(j)])) },
          dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts'), jobTmp],
        });
      });
    });

    describe('B and C: release and review pipelines on the token registry with the job’s registry credentials', () => {
      const registry = tb.TB_REGISTRY_TOKEN;
      const image = `${registry}/tpl-docker-${id}/rel`;
      const regVars = {
        CI_REGISTRY: registry,
        CI_REGISTRY_IMAGE: image,
        CI_REGISTRY_USER: tb.TB_REGISTRY_TOKEN_USER,
      };
      const build = (jobName: string, tags?: string) =>
        withProbe('build-push', {
          'job-name': jobName,
          stage: 'build',
          context: 'app',
          'build-args': `BASE_IMAGE=${tb.TB_BASE_IMAGE}`,
          ...(tags ? { tags } : {}),
        });

      test('B, tag v1.0.0: build-push pushes <short-sha>, retag promotes it to v1.0.0; a later job reads both digests', async () => {
        localRepos.push(image);
        const jobTmp = tempDir('shipline-tpl-docker-tmp-');
        const r = await pipeline({
          jobTmp,
          pipeline: { kind: 'tag', tag: 'v1.0.0' },
          ciYml: {
            stages: ['build', 'deploy'],
            include: [build('build-image', '$CI_COMMIT_SHORT_SHA'), withProbe('retag', { stage: 'deploy' })],
            later: {
              stage: '.post',
              image: images.jobImage,
              needs: ['build-image', 'retag'],
              script: show(['BUILD_IMAGE_DIGEST', 'RETAG_DIGEST', 'RETAG_REFS']),
            },
          },
          variables: regVars,
          fileVariables: { CI_REGISTRY_PASSWORD: tb.TB_REGISTRY_TOKEN_PASSWORD },
        });
        expect(status(r)).toMatch(/^exit 0/);
        expectContainerRun(r, ['build-image', 'retag'], jobTmp);
        expectProbed(r, { 'build-image': 'build-push', retag: 'retag' });
        const short = r.sha.slice(0, 8);
        expect(r.jobLog('retag')).toContain(`retag ${image}:${short} → ${image}:v1.0.0`);
        const later = r.jobLog('later');
        const digest = got(later, 'BUILD_IMAGE_DIGEST');
        expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(got(later, 'RETAG_DIGEST')).toBe(digest);
        expect(got(later, 'RETAG_REFS')).toBe(`${image}:v1.0.0`);
        expect(await skopeoDigest(`${image}:v1.0.0`, cfg.path)).toBe(digest);
        expectNoLeaks({
          secrets: { password: tb.TB_REGISTRY_TOKEN_PASSWORD },
          texts: { stdout: r.stdout, stderr: r.stderr },
          dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts'), jobTmp],
        });
      });

      test('C, merge request 12: build-push pushes MR-12, untag deletes it; a failing run-in-container job still cleans up', async () => {
        localRepos.push(image);
        const jobTmp = tempDir('shipline-tpl-docker-tmp-');
        const r = await pipeline({
          jobTmp,
          pipeline: { kind: 'mr', mrIid: '12' },
          ciYml: {
            stages: ['build', 'test', 'cleanup'],
            include: [
              build('build-review'),
              withProbe('untag', { stage: 'cleanup' }),
              componentInclude('run-in-container', {
                'job-name': 'ric-fail',
                stage: 'test',
                image: tb.TB_BASE_IMAGE,
                mode: 'start',
                run: 'echo first passes\nsh -c "echo failing test; exit 3"\necho never-runs',
                script: ['echo script-line-never-runs'],
              }),
            ],
            'ric-fail': { allow_failure: true },
          },
          variables: regVars,
          fileVariables: { CI_REGISTRY_PASSWORD: tb.TB_REGISTRY_TOKEN_PASSWORD },
          extraArgs: ['--manual', 'untag'],
        });
        expect(status(r)).toMatch(/^exit 0/);
        expectContainerRun(r, ['build-review', 'untag', 'ric-fail'], jobTmp);
        const pushed = gitlabDotenv(r.dir, 'build-review')!;
        expect(pushed.BUILD_REVIEW_TAGS).toBe(`${image}:MR-12`);
        expect(r.jobLog('untag')).toContain(`${image}:MR-12: deleted (${pushed.BUILD_REVIEW_DIGEST})`);
        expectProbed(r, { 'build-review': 'build-push', untag: 'untag' });
        expect(gitlabDotenv(r.dir, 'untag')?.UNTAG_DELETED).toBe('MR-12');
        expect(
          (await run('skopeo', ['inspect', '--tls-verify=false', '--authfile', cfg.path, `docker://${image}:MR-12`]))
            .code,
        ).not.toBe(0);
        const fail = r.jobLog('ric-fail');
        expect(fail).toContain('command failed with exit code 3');
        expect(printed(fail)).not.toMatch(/^(never-runs|script-line-never-runs)$/m);
        const name = /started container (\S+) of/.exec(fail)?.[1];
        expect(fail).toContain(`removed container ${name}`);
        expect(docker('container', 'inspect', name!).status).not.toBe(0);
      });
    });

    test('nothing left on the engine: no job or helper containers or volumes of these pipelines, no default-image tags', () => {
      expect(results.length).toBe(3);
      // gitlab-ci-local names a job's volumes gcl-<job>-<job id>-build/-tmp; a container still
      // holding one would also keep it from being removed.
      const ours = results.flatMap((r) =>
        [...r.stdout.matchAll(/^\S+\s+> gcl-job (\S+) (\d+) /gm)].flatMap((m) =>
          ['build', 'tmp'].map((k) => `gcl-${m[1]}-${m[2]}-${k}`),
        ),
      );
      // every job that started printed its id (the default before_script): two volumes each
      const started = results.flatMap((r) => [...r.stdout.matchAll(/^\S+\s+starting \S+ \(/gm)]);
      expect(started.length).toBeGreaterThanOrEqual(16);
      expect(ours.length).toBe(2 * started.length);
      const volumes = new Set(docker('volume', 'ls', '--format', '{{.Name}}').stdout.split('\n'));
      expect(ours.filter((v) => volumes.has(v))).toEqual([]);
      const containers = ours.flatMap((v) =>
        docker('ps', '--all', '--filter', `volume=${v}`, '--format', '{{.Names}}').stdout.split('\n').filter(Boolean),
      );
      expect(containers).toEqual([]);
      for (const r of results) r.cleanup();
      const tagged = docker('images', '--format', '{{.Repository}}:{{.Tag}}')
        .stdout.split('\n')
        .filter((ref) => results.some((r) => ref.endsWith(`/shipline/shipline/job:${r.sha}`)));
      expect(tagged).toEqual([]);
    });
  },
);
