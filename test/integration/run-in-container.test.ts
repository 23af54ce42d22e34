// run-in-container against the bench's real docker engine and registry (no stubs): the
// one-shot mode, start/exec/stop with --post cleanup, exit codes, .dockerignore, secrets by
// name (docker argv shim + /proc scan + log scan), parallel jobs, name ownership, bad images.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import step from '../../src/steps/run-in-container/index';
import { runStep } from '../../src/runtime/run';
import { benchControl, describeBench } from '../support/testbed';
import { createDockerShim, expectNoLeaks, plantCanaries, watchCmdlines } from '../support/canary';

const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8' });
const exists = (name: string) => docker('container', 'inspect', name).status === 0;

interface Run {
  code: number;
  out: string;
  err: string;
}

/**
 * The job's private directory per checkout, as the template makes it (SHIPLINE_RUN_DIR,
 * `mkdir -m 700`, outside the checkout): state, the env file and ctx.tempDir live there.
 */
const runDirs = new Map<string, string>();
function runDirOf(workspace: string): string {
  let d = runDirs.get(workspace);
  if (!d) {
    d = fs.mkdtempSync(path.join(os.tmpdir(), 'ric-run-')); // 0700, fresh
    runDirs.set(workspace, d);
  }
  return d;
}

/** Runs the step as `shipline run-in-container` does, in a GitLab-like job environment. */
async function ship(workspace: string, argv: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runStep(step, {
    argv,
    viaCli: true,
    cwd: workspace,
    env: {
      ...process.env,
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: workspace,
      CI_JOB_ID: '5150',
      CI_PIPELINE_ID: '77',
      CI_PROJECT_PATH: 'team/app',
      SHIPLINE_RUN_DIR: runDirOf(workspace),
      ...env,
    },
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  return { code, out, err };
}

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ric-int-'));
  const w = (p: string, c: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), c);
  };
  w('src/app.sh', 'echo app\n');
  w('node_modules/huge/index.js', 'ignored\n');
  w('.dockerignore', 'node_modules\n');
  w('.shipline/env', "export OTHER_STEP_TOKEN='not-for-the-container'\n");
  return dir;
}

const output = (r: Run, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(r.out)?.[1];

describeBench(['docker', 'registry-open'], 'run-in-container (real docker)', (env) => {
  const image = env.TB_BASE_IMAGE;
  const dirs: string[] = [];
  const ws = () => {
    const d = workspace();
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of [...dirs, ...runDirs.values()]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("image '--privileged' (a value that reads as an option) exits 2; docker is never called with it", async () => {
    const shim = createDockerShim();
    const dir = ws();
    const r = await ship(dir, ['--image', '--privileged', '--run', 'id'], shim.env(process.env));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/input 'image': '--privileged' starts with '-'/);
    expect(shim.records().filter((c) => c.argv.includes('--privileged'))).toEqual([]);
    expect(shim.records()).toEqual([]); // refused at input time: no docker call at all
  });

  it('a malformed image reference exits 2 naming image, before any pull (no docker call)', async () => {
    const shim = createDockerShim();
    try {
      for (const bad of ['UPPER/x', 'a//b', 'x:tag@sha256:zz', 'localhost:99999/a:1', '[:]/a', 'a:b:c', 'app:-x']) {
        const r = await ship(ws(), ['--image', bad, '--run', 'true'], shim.env(process.env));
        expect(r.code).toBe(2);
        expect(r.err).toMatch(/error: input 'image': /);
        expect(r.err).toMatch(/^hint: /m);
      }
      expect(shim.records()).toEqual([]);
    } finally {
      shim.cleanup();
    }
  });

  it('copy-out through a symlink in the checkout that points out: exit 2, nothing written outside', async () => {
    // The checkout one level down in a folder of this test's own, so `../x.txt` is a path no
    // other run on the machine writes (the temp folder itself is shared).
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ric-int-out-'));
    dirs.push(outside);
    const dir = path.join(outside, 'checkout');
    fs.renameSync(ws(), dir);
    fs.symlinkSync(outside, path.join(dir, 'reports'));
    for (const dest of ['reports/x.txt', '../x.txt', path.join(outside, 'y.txt')]) {
      const r = await ship(dir, ['--image', image, '--run', 'echo hi > out.txt', '--copy-out', `out.txt:${dest}`]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/input 'copy-out': .* is outside the workspace/);
    }
    expect(fs.readdirSync(outside)).toEqual(['checkout']);
  });

  it('one-shot: copies the workspace in (honouring .dockerignore), runs, copies out, removes the container', async () => {
    const dir = ws();
    const r = await ship(dir, [
      '--image',
      image,
      '--copy-in',
      '.',
      '--copy-in',
      'src/app.sh:/opt/bin',
      '--run',
      'test -f /opt/bin/app.sh; find . -type f | sort > /tmp/files; cat /tmp/files',
      '--run',
      'mkdir -p dist && sh src/app.sh > dist/result.txt',
      '--copy-out',
      'dist/result.txt:out/result.txt',
      '--copy-out',
      '/tmp/files:out/files.txt',
    ]);
    expect(r.err).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    const name = output(r, 'container')!;
    expect(name).toMatch(/^shipline-5150-[0-9a-f]{10}$/);
    expect(output(r, 'exit-code')).toBe('0');
    expect(fs.readFileSync(path.join(dir, 'out/result.txt'), 'utf8')).toBe('app\n');
    const files = fs.readFileSync(path.join(dir, 'out/files.txt'), 'utf8');
    expect(files).toContain('./src/app.sh');
    expect(files).not.toContain('node_modules');
    expect(files).not.toContain('.shipline');
    // live output in a group per command, and a summary with every phase
    expect(r.err).toMatch(
      // eslint-disable-next-line no-control-regex -- GitLab section markers are escape sequences
      /section_start:\d+:(\w+)\[collapsed=true\]\r\x1b\[0K\$ test -f \/opt\/bin\/app\.sh; find \. -type f[^\n]*\n\.\/\.dockerignore\n\.\/src\/app\.sh\n\x1b\[0Ksection_end:\d+:\1\r/,
    );
    for (const phase of [
      '| pull |',
      '| start |',
      '| copy-in . |',
      '| copy-in src/app.sh |',
      '| `mkdir -p dist',
      '| copy-out /app/dist/result.txt |',
      '| remove |',
    ])
      expect(r.err).toContain(phase);
    expect(exists(name)).toBe(false);
  }, 60_000);

  it("fails with the command's own exit code, stops at the first failure, still copies out and removes", async () => {
    const dir = ws();
    const r = await ship(dir, [
      '--image',
      image,
      '--run',
      'echo partial > report.txt',
      '--run',
      'exit 42',
      '--run',
      'echo not-reached',
      '--copy-out',
      'report.txt:report.txt',
    ]);
    expect(r.code).toBe(42);
    expect(output(r, 'exit-code')).toBe('42');
    expect(r.err).toContain('command failed with exit code 42: exit 42');
    expect(r.err).not.toContain('not-reached\n');
    expect(fs.readFileSync(path.join(dir, 'report.txt'), 'utf8')).toBe('partial\n');
    expect(exists(output(r, 'container')!)).toBe(false);

    const all = await ship(dir, [
      '--image',
      image,
      '--fail-fast',
      'false',
      '--run',
      'exit 3',
      '--run',
      'echo still-runs',
      '--run',
      'exit 4',
    ]);
    expect(all.code).toBe(3);
    expect(all.err).toContain('still-runs');
  }, 60_000);

  it('start, exec, exec, stop-by-post: one container for the job, removed by --post', async () => {
    const dir = ws();
    const jobEnv = { CI_JOB_ID: '6001' };
    const start = await ship(dir, ['--mode', 'start', '--image', image, '--run', 'echo one > state.txt'], jobEnv);
    expect(start.code).toBe(0);
    const name = output(start, 'container')!;
    expect(exists(name)).toBe(true);
    // the env file the template sources is the job's private one; the checkout's is never written
    expect(fs.readFileSync(path.join(runDirOf(dir), 'env'), 'utf8')).toContain(`SHIPLINE_CONTAINER='${name}'`);
    expect(fs.readFileSync(path.join(dir, '.shipline/env'), 'utf8')).toBe(
      "export OTHER_STEP_TOKEN='not-for-the-container'\n",
    );
    const e1 = await ship(dir, ['--mode', 'exec', '--run', 'echo two >> state.txt'], jobEnv);
    expect(e1.code).toBe(0);
    expect(output(e1, 'container')).toBe(name); // the default name is the job's
    const e2 = await ship(
      dir,
      ['--mode', 'exec', '--run', 'cat state.txt', '--copy-out', 'state.txt:state.txt'],
      jobEnv,
    );
    expect(e2.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'state.txt'), 'utf8')).toBe('one\ntwo\n');
    const post = await ship(dir, ['--post'], jobEnv);
    expect(post.code).toBe(0);
    expect(post.err).toContain(`removed container ${name}`);
    expect(exists(name)).toBe(false);
    // exec after cleanup: a clear error
    const late = await ship(dir, ['--mode', 'exec', '--run', 'true'], jobEnv);
    expect(late.code).toBe(1);
    expect(late.err).toContain(`no running container ${name}`);
  }, 60_000);

  it('a job cancelled mid-command: the cleanup (--post) still removes the container', async () => {
    const dir = ws();
    const jobEnv = {
      ...process.env,
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: dir,
      CI_JOB_ID: '6101',
      CI_PIPELINE_ID: '77',
      CI_PROJECT_PATH: 'team/app',
      SHIPLINE_RUN_DIR: runDirOf(dir),
    };
    const bundle = path.join(__dirname, '..', '..', 'dist', 'run-in-container', 'index.js');
    const child = spawn(process.execPath, [bundle, '--image', image, '--run', 'echo running; sleep 60'], {
      cwd: dir,
      env: jobEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const deadline = Date.now() + 30_000;
    while (!log.includes('running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const name = /started container (\S+) of/.exec(log)?.[1];
    expect(name).toBeDefined();
    child.kill('SIGKILL'); // the runner kills the job; main's own cleanup never runs
    await new Promise((r) => child.on('close', r));
    expect(exists(name!)).toBe(true);
    const post = await ship(dir, ['--post', '--image', image], { CI_JOB_ID: '6101' });
    expect(post.code).toBe(0);
    expect(post.err).toContain(`removed container ${name}`);
    expect(exists(name!)).toBe(false);
  }, 60_000);

  it('passes secret-env by name only: in no docker argv, no process cmdline, no log', async () => {
    const secrets = plantCanaries('token', 'npm');
    const shim = createDockerShim();
    const dir = ws();
    const watch = watchCmdlines(10);
    const r = await ship(
      dir,
      [
        '--image',
        image,
        '--secret-env',
        'APP_TOKEN',
        '--secret-env',
        'NPM_TOKEN',
        '--run',
        'test "$APP_TOKEN" = "$EXPECT" || { echo mismatch; exit 9; }',
        '--run',
        'echo "token is $APP_TOKEN"',
      ],
      { ...shim.env(process.env), APP_TOKEN: secrets.token, NPM_TOKEN: secrets.npm, EXPECT: 'unset-in-container' },
    );
    const cmdlines = watch.stop();
    // EXPECT is not passed: the container does not see job variables that are not listed
    expect(r.code).toBe(9);
    const ok = await ship(
      dir,
      [
        '--image',
        image,
        '--secret-env',
        'APP_TOKEN',
        '--secret-env',
        'NPM_TOKEN',
        '--run',
        'test -n "$APP_TOKEN" && test -n "$NPM_TOKEN"',
        '--run',
        'echo "token is $APP_TOKEN"',
      ],
      { ...shim.env(process.env), APP_TOKEN: secrets.token, NPM_TOKEN: secrets.npm },
    );
    expect(ok.code).toBe(0);
    expect(ok.err).toContain('token is ***');
    const calls = shim.records();
    expect(calls.filter((c) => c.argv[0] === 'exec' && c.argv.includes('APP_TOKEN')).length).toBeGreaterThanOrEqual(3);
    expectNoLeaks({
      secrets,
      texts: { out: r.out + ok.out, err: r.err + ok.err },
      argvLogs: [shim],
      cmdlines,
      dirs: [dir, runDirOf(dir)],
    });
    shim.cleanup();
  }, 60_000);

  it('two jobs at once on one engine: distinct containers, no interference', async () => {
    const [a, b] = [ws(), ws()];
    const [ra, rb] = await Promise.all([
      ship(a, ['--image', image, '--run', 'echo A > who; sleep 1; cat who'], { CI_JOB_ID: '7001' }),
      ship(b, ['--image', image, '--run', 'echo B > who; sleep 1; cat who'], { CI_JOB_ID: '7002' }),
    ]);
    expect([ra.code, rb.code]).toEqual([0, 0]);
    expect(output(ra, 'container')).not.toBe(output(rb, 'container'));
    expect(ra.err).toMatch(/^A$/m);
    expect(rb.err).toMatch(/^B$/m);
    // the same job id in two checkouts (two projects on one runner) still differs
    const [c, d] = await Promise.all([
      ship(ws(), ['--image', image, '--run', 'true']),
      ship(ws(), ['--image', image, '--run', 'true']),
    ]);
    expect(output(c, 'container')).not.toBe(output(d, 'container'));
  }, 60_000);

  it('never touches a container of the same name it did not start', async () => {
    const name = `ric-foreign-${crypto.randomBytes(4).toString('hex')}`;
    expect(docker('run', '-d', '--network', 'none', '--name', name, image, 'sleep', '60').status).toBe(0);
    try {
      const dir = ws();
      const r = await ship(dir, ['--image', image, '--name', name, '--run', 'true']);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`a container named ${name} already exists and was not started by this job`);
      const stop = await ship(dir, ['--mode', 'stop', '--name', name]);
      expect(stop.code).toBe(0);
      expect(stop.err).toContain(`no container ${name} of this job`);
      expect(exists(name)).toBe(true);
    } finally {
      docker('rm', '--force', name);
    }
  }, 60_000);

  it('bad image: names the image and the registry', async () => {
    const missing = `127.0.0.1:5001/ric-${crypto.randomBytes(3).toString('hex')}/nothing:1`;
    const dir = ws();
    const r = await ship(dir, ['--image', missing, '--run', 'true']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`image ${missing} was not found in registry 127.0.0.1:5001`);
    // no command ran: no exit-code output (none on stdout, none in the dotenv report)
    expect(output(r, 'exit-code')).toBeUndefined();
    expect(r.out).not.toMatch(/exit-code=/);
    const dotenv = path.join(dir, '.shipline/outputs.env');
    if (fs.existsSync(dotenv)) expect(fs.readFileSync(dotenv, 'utf8')).not.toMatch(/EXIT_CODE/);
    // and nothing to export: the container never stayed
    expect(fs.existsSync(path.join(runDirOf(dir), 'env'))).toBe(false);
    const never = await ship(ws(), ['--image', missing, '--pull', 'never', '--run', 'true']);
    expect(never.err).toContain(`image ${missing} is not on the docker engine and pull is 'never'`);
  }, 60_000);

  it('retries a pull on 5xx and throttling, never on not-found', async () => {
    // A repository of our own behind the bench's fault-injecting registry proxy.
    const repo = `ric-retry-${crypto.randomBytes(4).toString('hex')}`;
    const pushed = `${env.TB_REGISTRY_OPEN}/${repo}/base:1`;
    const viaProxy = `${env.TB_REGISTRY_OPEN_PROXY}/${repo}/base:1`;
    expect(docker('tag', image, pushed).status).toBe(0);
    expect(docker('push', pushed).status).toBe(0);
    docker('image', 'rm', pushed);
    const proxy = benchControl(env.TB_REGISTRY_OPEN_PROXY);
    try {
      // docker pull asks HEAD then GET: two faulted requests make one failed attempt.
      await proxy.fault({ kind: '500', count: 2, match: `${repo}/base/manifests` });
      const r = await ship(ws(), ['--image', viaProxy, '--pull', 'always', '--run', 'true']);
      expect(r.err).toMatch(/pull attempt 1 failed \(the registry answered with a server error\); retrying/);
      expect(r.code).toBe(0);
      await proxy.fault({ kind: '429', count: 2, match: `${repo}/base/manifests` });
      const t = await ship(ws(), ['--image', viaProxy, '--pull', 'always', '--run', 'true']);
      expect(t.err).toMatch(/pull attempt 1 failed \(the registry throttled the pull \(429\)\)/);
      expect(t.code).toBe(0);
      const mark = await proxy.mark();
      const missing = `${env.TB_REGISTRY_OPEN_PROXY}/${repo}/nothing:1`;
      const m = await ship(ws(), ['--image', missing, '--run', 'true']);
      expect(m.code).toBe(1);
      expect(m.err).not.toContain('retrying');
      const gets = (await proxy.requests({ since: mark })).filter(
        (q) => q.method === 'GET' && q.path.includes(`${repo}/nothing/manifests`),
      );
      expect(gets).toHaveLength(1);
    } finally {
      await proxy.clearFaults();
      docker('image', 'rm', '--force', viaProxy);
    }
  }, 90_000);

  it('pull always fetches from the registry; options reach docker run', async () => {
    const r = await ship(ws(), [
      '--image',
      image,
      '--pull',
      'always',
      '--options',
      '--memory 64m --label team=qa --network none --user 1000:1000',
      '--run',
      'test "$(id -u)" = 1000 && touch src/written-by-user',
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`pulled ${image}`);
    const bad = await ship(ws(), ['--image', image, '--options', '--privileged', '--run', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("option '--privileged' is not allowed");
  }, 60_000);
  it('env values stay readable, secret-env values and the platforms’ own credentials are masked', async () => {
    const secrets = plantCanaries('npm', 'job');
    const dir = ws();
    const r = await ship(
      dir,
      [
        '--image',
        image,
        '--env',
        'APP_ENV',
        '--env',
        'CI_JOB_TOKEN',
        '--secret-env',
        'NPM_TOKEN',
        '--env',
        'NOT_SET_ANYWHERE',
        '--run',
        'echo "env is $APP_ENV"; echo "npm is $NPM_TOKEN"; echo "job is $CI_JOB_TOKEN"',
      ],
      { APP_ENV: 'staging-eu-1', NPM_TOKEN: secrets.npm, CI_JOB_TOKEN: secrets.job },
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('env is staging-eu-1'); // configuration, not a secret: shown
    expect(r.err).toContain('npm is ***');
    expect(r.err).toContain('job is ***'); // CI_JOB_TOKEN is masked even when listed in env
    expect(r.err).toContain('variable NOT_SET_ANYWHERE (input env) is not set in the job');
    expectNoLeaks({ secrets, texts: { out: r.out, err: r.err }, dirs: [dir] });
  }, 60_000);

  it('SHIPLINE_CONTAINER: not exported by a one-shot run; exported by start and keep; emptied by stop; removed by the cleanup', async () => {
    const envFile = (d: string) => {
      const f = path.join(runDirOf(d), 'env');
      return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
    };
    // one-shot: the container is gone when the step ends, so is the name
    const once = ws();
    const r = await ship(once, ['--image', image, '--run', 'true'], { CI_JOB_ID: '8101' });
    expect(r.code).toBe(0);
    expect(exists(output(r, 'container')!)).toBe(false);
    expect(envFile(once)).not.toContain('SHIPLINE_CONTAINER');
    expect(r.err).not.toContain('SHIPLINE_CONTAINER');

    // keep: it stays, so does the name, until the cleanup takes both away
    const kept = ws();
    const k = await ship(kept, ['--image', image, '--keep', 'true', '--run', 'true'], { CI_JOB_ID: '8102' });
    expect(k.code).toBe(0);
    const keptName = output(k, 'container')!;
    expect(exists(keptName)).toBe(true);
    expect(envFile(kept)).toContain(`export SHIPLINE_CONTAINER='${keptName}'`);
    const post = await ship(kept, ['--post', '--keep', 'true'], { CI_JOB_ID: '8102' });
    expect(post.code).toBe(0);
    expect(exists(keptName)).toBe(false);
    expect(envFile(kept)).not.toContain('SHIPLINE_CONTAINER');

    // start, then stop in a later line of the job (which sourced the env file): emptied
    const started = ws();
    const s = await ship(started, ['--mode', 'start', '--image', image, '--run', 'true'], { CI_JOB_ID: '8103' });
    expect(s.code).toBe(0);
    const name = output(s, 'container')!;
    expect(envFile(started)).toContain(`export SHIPLINE_CONTAINER='${name}'`);
    const stop = await ship(started, ['--mode', 'stop'], { CI_JOB_ID: '8103', SHIPLINE_CONTAINER: name });
    expect(stop.code).toBe(0);
    expect(exists(name)).toBe(false);
    expect(envFile(started)).toContain("export SHIPLINE_CONTAINER=''");
    expect(output(stop, 'exit-code')).toBeUndefined(); // no command ran
    const cleanup = await ship(started, ['--post'], { CI_JOB_ID: '8103' });
    expect(cleanup.code).toBe(0);
    expect(envFile(started)).not.toContain('SHIPLINE_CONTAINER');

    // a failing command in start: the container stays for the cleanup, and so does its name
    const failing = ws();
    const f = await ship(failing, ['--mode', 'start', '--image', image, '--run', 'exit 5'], { CI_JOB_ID: '8104' });
    expect(f.code).toBe(5);
    expect(output(f, 'exit-code')).toBe('5');
    const failName = output(f, 'container')!;
    expect(exists(failName)).toBe(true);
    expect(envFile(failing)).toContain(`export SHIPLINE_CONTAINER='${failName}'`);
    expect((await ship(failing, ['--post'], { CI_JOB_ID: '8104' })).code).toBe(0);
    expect(exists(failName)).toBe(false);
  }, 120_000);
});
