// The run-in-container template through gitlab-ci-local against the bench: the
// seed-003-shaped example pipeline (examples/run-in-container), a failing test command,
// two jobs at once on one engine, and secrets passed by name.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../support/exec';
import { runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';
import { describeBench } from '../support/testbed';
import { plantCanaries, expectNoLeaks } from '../support/canary';
import { validateGitlabTemplate } from '../support/schema';

const EXAMPLE = path.join(repoRoot, 'examples', 'run-in-container');

function exampleFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name);
      if (d.isDirectory()) walk(abs);
      else out[path.relative(EXAMPLE, abs)] = fs.readFileSync(abs, 'utf8');
    }
  };
  walk(EXAMPLE);
  return out;
}

/** The job's dotenv report as gitlab-ci-local keeps it (files under .gitlab-ci-reports/dotenv). */
function readDotenv(dir: string, job: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) walk(abs);
      else
        for (const line of fs.readFileSync(abs, 'utf8').split('\n')) {
          const i = line.indexOf('=');
          if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
        }
    }
  };
  walk(path.join(dir, '.gitlab-ci-local', 'artifacts', job, '.gitlab-ci-reports', 'dotenv'));
  return out;
}

const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8' });
const exists = (name: string) => docker('container', 'inspect', name).status === 0;
const started = (log: string) => [...log.matchAll(/started container (\S+) of/g)].map((m) => m[1]!);

describe('run-in-container template', () => {
  it("is valid against GitLab's schema; the job image is its own input, inputs never in script text", () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates/run-in-container.yml'), 'utf8');
    // Every string input given (the helper substitutes text, so an empty default would read as null).
    const r = validateGitlabTemplate(text, {
      image: 'registry.example.com/team/app:1',
      name: 'box',
      run: 'make test',
      'copy-in': '.',
      'copy-out': 'dist/a.zip:a.zip',
      env: 'NPM_TOKEN',
      options: '--memory 1g',
      script: ['docker exec "$SHIPLINE_CONTAINER" make lint'],
    });
    // The schema bundled with gitlab-ci-local 4.73 predates `spec:component` (the foundation's header); everything else must pass.
    expect(r.errors.filter((e) => !/additionalProperty\\?":\\?"component/.test(e))).toEqual([]);
    expect(text).toContain('image: $[[ inputs.job-image ]]');
    const script = text.slice(text.indexOf('\n  script:\n'), text.indexOf('\n  after_script:\n'));
    expect(script).toContain('dist/run-in-container/index.js');
    expect(script.match(/\$\[\[ inputs\.[\w-]+ \]\]/g)).toEqual([
      '$[[ inputs.before-script ]]',
      '$[[ inputs.script ]]',
    ]);
  });
});

describeBench(['docker', 'registry-open'], 'run-in-container on GitLab (gitlab-ci-local)', (env) => {
  const repo = `127.0.0.1:5001/ric-${crypto.randomBytes(4).toString('hex')}`;
  const results: GitlabRunResult[] = [];
  afterAll(() => {
    for (const r of results) r.cleanup();
    const tags = docker('images', '--format', '{{.Repository}}:{{.Tag}}', `${repo}/app`)
      .stdout.split('\n')
      .filter(Boolean);
    if (tags.length) docker('image', 'rm', '--force', ...tags);
  });

  it('seed-003 pipeline: build image -> unit-test in a reused container -> package artifact', async () => {
    const secrets = plantCanaries('apptoken');
    const r = await runGitlabCiLocal({
      ciYml: fs.readFileSync(path.join(EXAMPLE, '.gitlab-ci.yml'), 'utf8'),
      files: exampleFiles(),
      variables: { CI_REGISTRY_IMAGE: repo, BASE_IMAGE: env.TB_BASE_IMAGE },
      fileVariables: { APP_TOKEN: secrets.apptoken },
    });
    results.push(r);
    const all = r.stdout + r.stderr;
    if (r.exitCode !== 0) throw new Error(`pipeline failed (${r.exitCode}):\n${all}`);
    const unit = r.jobLog('unit-test');
    expect(unit).toContain('ok - app greets by name');
    expect(unit).toContain('APP_TOKEN reached the container');
    expect(unit).toContain('hello, pipeline'); // the script line ran in the kept container
    const names = started(unit);
    expect(names).toHaveLength(1);
    expect(unit).toContain(`removed container ${names[0]}`); // after_script
    expect(exists(names[0]!)).toBe(false);
    const pkg = r.jobLog('build-package');
    expect(pkg).toMatch(/packaged dist\/artifact\.tar\.gz/);
    const artifact = path.join(r.dir, '.gitlab-ci-local', 'artifacts', 'build-package', 'artifact.tar.gz');
    expect(fs.existsSync(artifact)).toBe(true);
    const listing = spawnSync('tar', ['-tzf', artifact], { encoding: 'utf8' });
    expect(listing.stdout).toContain('src/app.sh');
    expect(readDotenv(r.dir, 'build-package')).toMatchObject({ BUILD_PACKAGE_EXIT_CODE: '0' });
    expectNoLeaks({ secrets, texts: { all, unit, pkg }, dirs: [path.join(r.dir, '.gitlab-ci-local', 'artifacts')] });
  }, 300_000);

  const include = (inputs: Record<string, unknown>) => ({
    component: '$CI_SERVER_FQDN/$CI_PROJECT_PATH/run-in-container@$CI_COMMIT_SHA',
    inputs: { image: env.TB_BASE_IMAGE, ...inputs },
  });

  it('a failing test command fails the job with its exit code; after_script removes the container', async () => {
    const r = await runGitlabCiLocal({
      ciYml: {
        include: [
          include({
            'job-name': 'unit-test',
            mode: 'start',
            run: 'echo "first passes"\nsh -c "echo failing test; exit 3"\necho never-runs',
            script: ['echo script-line-never-runs'],
          }),
        ],
      },
      files: { 'app/readme.txt': 'hello\n' },
    });
    results.push(r);
    const log = r.jobLog('unit-test');
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/unit-test\s+finished in .*FAIL 3/);
    expect(log).toContain('failing test');
    expect(log).toContain('command failed with exit code 3');
    expect(log).not.toContain('never-runs\n');
    expect(log).not.toContain('script-line-never-runs\n');
    const names = started(log);
    expect(names).toHaveLength(1);
    expect(log).toContain(`removed container ${names[0]}`);
    expect(exists(names[0]!)).toBe(false);
  }, 300_000);

  it('two jobs at once on the same engine get their own containers', async () => {
    const job = (n: string) =>
      include({
        'job-name': n,
        mode: 'start',
        // `$CI_JOB_NAME` is expanded by GitLab before the step runs; `$$PWD` reaches the container as `$PWD`.
        run: `echo ${n} > /app/who\necho "by gitlab: $CI_JOB_NAME, by the container: $$PWD"\nsleep 3`,
        // While this job's container runs, list the step's containers on the engine.
        script: [
          'docker ps --filter label=dev.shipline.step=run-in-container --format "running {{.Names}}"',
          'docker exec "$SHIPLINE_CONTAINER" cat /app/who',
          // the step itself in exec mode: a timed, grouped command in the same container
          `node "$SHIPLINE_HOME/dist/run-in-container/index.js" --mode exec --run 'echo "exec-mode sees $(cat /app/who)"'`,
        ],
      });
    // gitlab-ci-local's shell executor runs both jobs in one project dir; each still has its
    // own private directory (/tmp/shipline-$CI_JOB_ID: env file, state), as on a runner.
    const r = await runGitlabCiLocal({
      ciYml: { include: [job('job-a'), job('job-b')] },
    });
    results.push(r);
    if (r.exitCode !== 0) throw new Error(`pipeline failed (${r.exitCode}):\n${r.stdout}${r.stderr}`);
    const a = r.jobLog('job-a');
    const b = r.jobLog('job-b');
    const [na] = started(a);
    const [nb] = started(b);
    expect(na).toBeDefined();
    expect(nb).toBeDefined();
    expect(na).not.toBe(nb);
    // Each job's commands ran in its own container, and both were alive at the same time.
    expect(a).toMatch(/^(?:.*\s)?job-a$/m);
    expect(b).toMatch(/^(?:.*\s)?job-b$/m);
    expect(a).toMatch(/^(?:.*\s)?by gitlab: job-a, by the container: \/app$/m);
    expect(b).toMatch(/^(?:.*\s)?by gitlab: job-b, by the container: \/app$/m);
    expect(a).toMatch(/^(?:.*\s)?exec-mode sees job-a$/m);
    expect(b).toMatch(/^(?:.*\s)?exec-mode sees job-b$/m);
    expect(a).toContain(`running ${nb}`);
    expect(b).toContain(`running ${na}`);
    expect(exists(na!)).toBe(false);
    expect(exists(nb!)).toBe(false);
  }, 300_000);

  it('bad inputs: a missing image names image and registry; a disallowed option is named', async () => {
    const missing = `${repo}/does-not-exist:1`;
    const r = await runGitlabCiLocal({
      ciYml: {
        include: [
          include({ 'job-name': 'missing-image', image: missing, run: 'true' }),
          include({ 'job-name': 'bad-option', options: '--memory 64m --cap-add SYS_ADMIN', run: 'true' }),
        ],
      },
    });
    results.push(r);
    expect(r.exitCode).not.toBe(0);
    const m = r.jobLog('missing-image');
    expect(m).toContain(`image ${missing} was not found in registry 127.0.0.1:5001`);
    const o = r.jobLog('bad-option');
    expect(o).toContain("option '--cap-add' is not allowed");
    expect(r.stdout + r.stderr).toMatch(/bad-option\s+finished in .*FAIL 2/);
  }, 300_000);
});
