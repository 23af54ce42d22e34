// A cancelled job: the bundle is killed (SIGKILL, no finally runs) in the middle of a kaniko
// build, then the template's after_script line (`index.js --post`) runs. The registry
// credentials the step wrote into the kaniko config, and its work dir, must be gone.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run } from '../support/exec';
import { dockerConfigB64 } from '../support/kaniko-build-run';

jest.setTimeout(60_000);

const BUNDLE = path.join(repoRoot, 'dist/kaniko-build/index.js');

test('after_script (--post) removes the credentials a killed main left behind', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-cancel-'));
  try {
    const ws = path.join(root, 'ws');
    const tmp = path.join(root, 'tmp');
    const record = path.join(root, 'record');
    const configDir = path.join(root, 'kaniko-docker');
    // the job's private directory, as the template's first line makes it (mkdir -m 700)
    const runDir = path.join(root, 'run');
    const runTmp = path.join(runDir, 'tmp'); // ctx.tempDir: the step's work dirs
    fs.mkdirSync(ws);
    fs.mkdirSync(tmp);
    fs.mkdirSync(runDir, { mode: 0o700 });
    fs.writeFileSync(path.join(ws, 'Dockerfile'), 'FROM harbor.example.com/base/busybox:1\nRUN true\n');
    const executor = path.join(root, 'executor');
    fs.copyFileSync(path.join(repoRoot, 'test/fixtures/kaniko/executor'), executor);
    fs.chmodSync(executor, 0o755);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: path.join(root, 'home'),
      TMPDIR: tmp,
      GITLAB_CI: 'true',
      CI_JOB_ID: '4711',
      SHIPLINE_RUN_DIR: runDir,
      CI_PROJECT_DIR: ws,
      CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
      CI_COMMIT_BRANCH: 'main',
      CI_DEFAULT_BRANCH: 'main',
      KANIKO_STANDIN_RECORD: record,
      KANIKO_STANDIN_SLEEP_MS: '30000',
      HARBOR_ROBOT_CREDS_JSON: dockerConfigB64('harbor.example.com', 'robot', 'pw-cancel-123456'),
      SHIPLINE_INPUT_EXECUTOR: executor,
      SHIPLINE_INPUT_KANIKO_CONFIG_DIR: configDir,
      SHIPLINE_INPUT_IMAGES: 'harbor.example.com/team/app',
      SHIPLINE_INPUT_AUTH_CONFIG_VARIABLE: 'HARBOR_ROBOT_CREDS_JSON',
    };
    const child = spawn(process.execPath, [BUNDLE], { cwd: ws, env, detached: true, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Wait (bounded) until the executor runs: the credentials are in place by then.
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(path.join(record, '1.json')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(path.join(record, '1.json'))).toBe(true);
    expect(fs.existsSync(path.join(configDir, 'config.json'))).toBe(true);
    process.kill(-child.pid!, 'SIGKILL'); // the job is cancelled: main and the executor die
    await exited;
    expect(fs.existsSync(path.join(configDir, 'config.json'))).toBe(true);
    expect(fs.readdirSync(runTmp).filter((n) => n.startsWith('shipline-kaniko-build-'))).toHaveLength(1);
    expect(fs.readdirSync(tmp)).toEqual([]); // nothing outside the private directory

    const post = await run(process.execPath, [BUNDLE, '--post'], { cwd: ws, env });
    expect(post.code).toBe(0);
    expect(post.stderr).toContain(
      `removed the registry credentials shipline added to ${path.join(configDir, 'config.json')}`,
    );
    expect(fs.existsSync(path.join(configDir, 'config.json'))).toBe(false);
    expect(fs.readdirSync(runTmp)).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
    // A second after_script run (a retried job) has nothing left to do and still succeeds.
    const again = await run(process.execPath, [BUNDLE, '--post'], { cwd: ws, env });
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('removed the registry credentials');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
