// registry-login's docker config handling: the private directory is seeded from the job's
// config (0700, a copy, links to the rest, the source untouched), and post removes exactly
// what main added: the whole directory when the config is as main left it, else only the
// step's own entries; a recorded path that is not a directory main made is never touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addAuths, fileFingerprint, seedPrivateConfig } from '../../../../src/lib/registry/docker-config';
import { runStep } from '../../../../src/runtime/run';
import step from '../../../../src/steps/registry-login/index';
import { CONFIG_DIR_PREFIX } from '../../../../src/steps/registry-login/main';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-rl-unit-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A job's ~/.docker with entries, a helper, a store and a plugin directory. */
function jobConfig(root: string) {
  const src = path.join(root, 'home', '.docker');
  fs.mkdirSync(path.join(src, 'cli-plugins'), { recursive: true });
  fs.writeFileSync(path.join(src, 'cli-plugins', 'docker-buildx'), '#!/bin/sh\n');
  const config = {
    auths: { 'other.example': { auth: 'b3RoZXI6eA==' } },
    credHelpers: { 'quay.io': 'pass', 'gcr.io': 'gcloud' },
    credsStore: 'desktop',
    proxies: { default: { httpProxy: 'http://proxy:3128' } },
  };
  fs.writeFileSync(path.join(src, 'config.json'), JSON.stringify(config));
  return { src, config, text: fs.readFileSync(path.join(src, 'config.json'), 'utf8') };
}

describe('seedPrivateConfig', () => {
  test('a 0700 copy without credsStore and the helpers of the hosts logged in to; links to the rest', () => {
    const root = tmp();
    const job = jobConfig(root);
    const made = seedPrivateConfig(root, job.src, CONFIG_DIR_PREFIX, ['quay.io']);
    expect(path.basename(made.dir)).toMatch(/^shipline-docker-[A-Za-z0-9]{6}$/);
    expect(fs.statSync(made.dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(made.path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(made.path, 'utf8'))).toEqual({
      auths: job.config.auths,
      credHelpers: { 'gcr.io': 'gcloud' },
      proxies: job.config.proxies,
    });
    expect(made).toMatchObject({ droppedCredsStore: 'desktop', droppedHelpers: ['quay.io'] });
    expect(fs.readlinkSync(path.join(made.dir, 'cli-plugins'))).toBe(path.join(job.src, 'cli-plugins'));
    expect(fs.readFileSync(path.join(job.src, 'config.json'), 'utf8')).toBe(job.text);
  });
  test('no source directory: an empty config', () => {
    const root = tmp();
    const made = seedPrivateConfig(root, path.join(root, 'missing'), CONFIG_DIR_PREFIX, []);
    expect(JSON.parse(fs.readFileSync(made.path, 'utf8'))).toEqual({});
    expect(made.droppedHelpers).toEqual([]);
  });
});

describe('post', () => {
  const capture = () => {
    let out = '';
    return {
      text: () => out,
      opts: { stdout: (s: string) => void (out += s), stderr: (s: string) => void (out += s) },
    };
  };
  /** main's result, without the network: a seeded directory, two entries, the state file. */
  function afterMain(root: string, record?: Record<string, unknown>) {
    const job = jobConfig(root);
    // ctx.tempDir: <SHIPLINE_RUN_DIR>/tmp, private to the job
    const temp = path.join(root, 'run', 'tmp');
    fs.mkdirSync(temp, { recursive: true, mode: 0o700 });
    fs.chmodSync(path.join(root, 'run'), 0o700);
    const made = seedPrivateConfig(temp, job.src, CONFIG_DIR_PREFIX, []);
    addAuths(made.path, [
      { registry: '127.0.0.1:5002', username: 'a', password: 'pass-a' },
      { registry: 'https://index.docker.io/v1/', username: 'b', password: 'pass-b' },
    ]);
    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir);
    const login = record ?? {
      dir: made.dir,
      keys: ['127.0.0.1:5002', 'https://index.docker.io/v1/'],
      fingerprint: fileFingerprint(made.path),
    };
    fs.writeFileSync(path.join(stateDir, 'registry-login.json'), JSON.stringify({ login: JSON.stringify(login) }));
    const env = {
      SHIPLINE_STATE_DIR: stateDir,
      SHIPLINE_RUN_DIR: path.join(root, 'run'),
      HOME: path.join(root, 'home'),
    };
    return { job, made, env };
  }
  const runPost = (root: string, env: Record<string, string>, c: ReturnType<typeof capture>) =>
    runStep(step, { env, argv: ['--post'], viaCli: true, cwd: path.join(root, 'home'), ...c.opts });

  test('the config as main left it: the whole directory goes, links only (their targets stay)', async () => {
    const root = tmp();
    const { job, made, env } = afterMain(root);
    const c = capture();
    const code = await runPost(root, env, c);
    expect(c.text()).toContain(`removed ${made.dir}`);
    expect(code).toBe(0);
    expect(fs.existsSync(made.dir)).toBe(false);
    expect(fs.existsSync(path.join(job.src, 'cli-plugins', 'docker-buildx'))).toBe(true);
    expect(fs.readFileSync(path.join(job.src, 'config.json'), 'utf8')).toBe(job.text);
    expect(c.text()).toContain(`removed ${made.dir}`);
    // the state is dropped: a second post does nothing
    const c2 = capture();
    expect(await runPost(root, env, c2)).toBe(0);
    expect(c2.text()).toBe('');
  });

  test('another step wrote to it since: only this step’s entries go, the directory and the other entry stay', async () => {
    const root = tmp();
    const { made, env } = afterMain(root);
    addAuths(made.path, [{ registry: 'later.example', username: 'l', password: 'pass-l' }]);
    const c = capture();
    expect(await runPost(root, env, c)).toBe(0);
    const left = JSON.parse(fs.readFileSync(made.path, 'utf8')) as { auths: Record<string, unknown> };
    expect(Object.keys(left.auths).sort()).toEqual(['later.example', 'other.example']);
    expect(c.text()).toMatch(/kept the directory/);
  });

  test.each([
    ['a directory elsewhere', (root: string) => path.join(root, 'home', '.docker')],
    ['a shaped name outside the temp dir', (root: string) => path.join(root, 'shipline-docker-abcdef')],
    ['not a path', () => 42],
  ])('%s is never touched', async (_, where) => {
    const root = tmp();
    const { job, env } = afterMain(root, { dir: where(root), keys: ['other.example'], fingerprint: '' });
    fs.mkdirSync(path.join(root, 'shipline-docker-abcdef'), { recursive: true });
    const c = capture();
    expect(await runPost(root, env, c)).toBe(0);
    expect(fs.readFileSync(path.join(job.src, 'config.json'), 'utf8')).toBe(job.text);
    expect(fs.existsSync(path.join(root, 'shipline-docker-abcdef'))).toBe(true);
    expect(c.text()).toMatch(/not touching/);
  });
});
