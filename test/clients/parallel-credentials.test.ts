// Two jobs of one pipeline, in the same stage on one runner (gitlab-ci-local, shell executor),
// push to the same registry (the bench's basic-auth registry) with different credentials:
// users `shipline` and `AWS`, each from its own docker-config-JSON variable (the template's
// auth-config-variable: registry-login in the job) before build-push. Each job has its own
// DOCKER_CONFIG, so neither clobbers the other: the `shipline` job pushes only after the
// `AWS` job has pushed and logged out of the same registry (its login entry, for the same
// registry key, still there), and both pass. At the registry: skopeo finds each image at the
// digest its job reports, and the registry's own log attributes every request to each
// repository to that job's user. Nothing is left (run directories, credentials, containers);
// no secret in argv (this test's processes), logs or files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { expectNoLeaks, watchOwnCmdlines, type CmdlineSample } from '../support/canary';
import { runGitlabCiLocal } from '../support/gitlab';
import {
  benchAuthFile,
  jobTracer,
  leftoversOf,
  registryDigest,
  registryTags,
  removeLocalImages,
  removeRepository,
} from '../support/seeds';
import { describeBench } from '../support/testbed';

jest.setTimeout(300_000);

const tail = (text: string, n = 60) => text.split('\n').slice(-n).join('\n');

/** The users (auth.user.name) of the registry's log lines about one repository, from `offset` on. */
function registryUsers(logFile: string, offset: number, repository: string): string[] {
  const fd = fs.openSync(logFile, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    fs.readSync(fd, buf, 0, buf.length, offset);
    const users: string[] = [];
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line.includes(`/v2/${repository}/`)) continue;
      const m = /\bauth\.user\.name="?([^"\s]+)"?/.exec(line);
      if (m) users.push(m[1]!);
    }
    return users;
  } finally {
    fs.closeSync(fd);
  }
}

describeBench(['dockerd', 'registry-basic', 'base-image'], 'two parallel jobs, one registry, two credentials', (tb) => {
  const runId = crypto.randomBytes(4).toString('hex');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-parallel-creds-'));
  const authfile = benchAuthFile(tb, root);
  const registry = tb.TB_REGISTRY_BASIC;
  const users = {
    shipline: { user: tb.TB_REGISTRY_BASIC_USER, password: tb.TB_REGISTRY_BASIC_PASSWORD },
    aws: { user: 'AWS', password: tb.TB_ECR_PASSWORD },
  };
  const json = (u: { user: string; password: string }) =>
    JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${u.user}:${u.password}`).toString('base64') } } });
  const creds = { SHIPLINE_CREDS_JSON: json(users.shipline), AWS_CREDS_JSON: json(users.aws) };
  const repository = { shipline: `parallel-${runId}/as-shipline`, aws: `parallel-${runId}/as-aws` };
  const repos = [`${registry}/${repository.shipline}`, `${registry}/${repository.aws}`];
  const registryLog = path.join(tb.TB_STATE_DIR, 'logs', 'registry-basic.log');

  afterAll(async () => {
    for (const repo of repos) await removeRepository(repo, authfile);
    await removeLocalImages(repos);
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('both pass; each pushed with its own user; neither job’s logout reached the other’s login', async () => {
    expect(users.shipline.user).toBe('shipline');
    expect(fs.existsSync(registryLog)).toBe(true);
    const sync = fs.mkdtempSync(path.join(root, 'sync-'));
    const home = fs.mkdtempSync(path.join(root, 'home-'));
    const include = (job: string, variable: string, repo: string, more: Record<string, unknown>) => ({
      component: '$CI_SERVER_FQDN/$CI_PROJECT_PATH/build-push@$CI_COMMIT_SHA',
      inputs: {
        'job-name': job,
        stage: 'build',
        images: `${registry}/${repo}`,
        tags: 'parallel',
        latest: 'false',
        'cache-from': 'none',
        'build-args': `BASE_IMAGE=${tb.TB_BASE_IMAGE}\nMARK=${runId}-${job}`,
        'auth-config-variable': variable,
        ...more,
      },
    });
    const ciYml = toYaml({
      stages: ['build'],
      include: [
        include('push-as-shipline', 'SHIPLINE_CREDS_JSON', repository.shipline, {
          // Logged in already (the template's logins run first); wait until the other job has
          // pushed and logged out of the same registry, then check this job's own entry.
          'before-script': [
            'for i in $(seq 1 240); do [ -s "$SYNC_DIR/aws-config" ] && [ ! -e "$(cat "$SYNC_DIR/aws-config")" ] && break; sleep 0.5; done',
            '[ -s "$SYNC_DIR/aws-config" ] && [ ! -e "$(cat "$SYNC_DIR/aws-config")" ] || { echo "push-as-aws did not push and log out within 120 s" >&2; exit 1; }',
            `grep -q '"${registry}"' "$DOCKER_CONFIG/config.json" && echo "push-as-aws logged out ($(cat "$SYNC_DIR/aws-config") is gone); this job's login to ${registry} is intact in $DOCKER_CONFIG"`,
          ],
        }),
        include('push-as-aws', 'AWS_CREDS_JSON', repository.aws, {
          // after its push: where its login lives, which after_script removes
          script: [
            'echo "$DOCKER_CONFIG" > "$SYNC_DIR/aws-config.tmp" && mv "$SYNC_DIR/aws-config.tmp" "$SYNC_DIR/aws-config"',
          ],
        }),
      ],
    });
    const tracer = jobTracer();
    const argv = watchOwnCmdlines();
    let cmdlines: CmdlineSample[] = [];
    const offset = fs.statSync(registryLog).size;
    const r = await runGitlabCiLocal({
      ciYml,
      files: { Dockerfile: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG MARK\nRUN echo "$MARK" > /mark\n' },
      pipeline: 'default-branch',
      variables: { SYNC_DIR: sync },
      fileVariables: creds,
      // the runner user's home: its ~/.docker must stay untouched
      env: tracer.env({ ...process.env, HOME: home, DOCKER_CONFIG: undefined }),
    }).finally(async () => {
      cmdlines = await argv.stop();
    });
    try {
      expect(`exit ${r.exitCode}\n${tail(r.stdout)}`).toMatch(/^exit 0/);
      expect(r.stdout).toMatch(/PASS\s+push-as-shipline/);
      expect(r.stdout).toMatch(/PASS\s+push-as-aws/);
      const shiplineLog = r.jobLog('push-as-shipline');
      expect(shiplineLog).toMatch(/push-as-aws logged out \(.+ is gone\); this job's login to .+ is intact/);
      expect(shiplineLog).toContain(`logged in to ${registry} as shipline (variable SHIPLINE_CREDS_JSON)`);
      expect(r.jobLog('push-as-aws')).toContain(`logged in to ${registry} as AWS (variable AWS_CREDS_JSON)`);

      // one runner, one stage, both jobs at once: each had its own docker configs, in its own run dir
      const jobs = tracer.jobs();
      const a = jobs.get('push-as-shipline')!;
      const b = jobs.get('push-as-aws')!;
      expect(a && b).toBeTruthy();
      expect(a.id).not.toBe(b.id);
      for (const j of [a, b])
        for (const d of j.dockerConfigs) expect(d.startsWith(`/tmp/shipline-${j.id}/`)).toBe(true);
      expect([...a.dockerConfigs].filter((d) => b.dockerConfigs.has(d))).toEqual([]);

      // at the registry: each image at the digest its job reports (outputs named per job) ...
      const digest = {
        shipline: r.dotenv('push-as-shipline')!.PUSH_AS_SHIPLINE_DIGEST!,
        aws: r.dotenv('push-as-aws')!.PUSH_AS_AWS_DIGEST!,
      };
      expect(digest.shipline).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(digest.aws).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(digest.shipline).not.toBe(digest.aws);
      for (const k of ['shipline', 'aws'] as const) {
        expect(await registryTags(`${registry}/${repository[k]}`, authfile)).toEqual(['parallel']);
        expect(await registryDigest(`${registry}/${repository[k]}:parallel`, authfile)).toBe(digest[k]);
      }
      // ... and every request to a repository that the registry logged a user for came from that job's user
      const seen = {
        shipline: [...new Set(registryUsers(registryLog, offset, repository.shipline))],
        aws: [...new Set(registryUsers(registryLog, offset, repository.aws))],
      };
      expect(seen).toEqual({ shipline: ['shipline'], aws: ['AWS'] });

      expect(await leftoversOf(jobs.values(), [path.join(home, '.docker')])).toEqual({
        containers: [],
        runDirs: [],
        credentials: [],
      });
      expect(fs.existsSync(path.join(home, '.docker'))).toBe(false);
      expect(r.args.join('\n')).not.toMatch(new RegExp(`${users.shipline.password}|${users.aws.password}`));
      expect(cmdlines.some((c) => c.argv.join(' ').includes('dist/build-push/index.js'))).toBe(true);
      expectNoLeaks({
        secrets: { shipline: users.shipline.password, aws: users.aws.password, ...creds },
        texts: {
          stdout: r.stdout,
          stderr: r.stderr,
          shipline: shiplineLog,
          aws: r.jobLog('push-as-aws'),
        },
        dirs: [r.dir, sync],
        cmdlines,
      });
    } finally {
      tracer.cleanup();
      r.cleanup();
    }
  });
});
