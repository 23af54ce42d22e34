// The leak scanner must be able to fail: it catches a canary in stdout, in a file, in a
// docker argv (and in base64, and in /proc cmdlines), and passes on clean output.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
  assertNoLeaks,
  createArgvRecorder,
  createDockerShim,
  plantCanaries,
  scan,
  watchCmdlines,
} from '../support/canary';
import { run } from '../support/exec';
import { describeBench } from '../support/testbed';

jest.setTimeout(60_000);

describe('canary scanner', () => {
  const c = plantCanaries('password', 'token');
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-canary-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('canaries are unique and recognisable', () => {
    expect(c.password).toMatch(/^CANARY-password-[0-9a-f]{20}$/);
    expect(plantCanaries('password').password).not.toBe(c.password);
  });

  test('catches a secret printed on stdout, with stream and line', async () => {
    const r = await run(process.execPath, ['-e', 'console.log("starting"); console.log("pw is " + process.env.PW)'], {
      env: { ...process.env, PW: c.password },
    });
    const result = scan({ secrets: c, texts: { stdout: r.stdout, stderr: r.stderr } });
    expect(result.clean).toBe(false);
    expect(result.hits).toEqual([
      expect.objectContaining({ secret: 'password', encoding: 'raw', where: 'stdout:2', excerpt: 'pw is <password>' }),
    ]);
    expect(() => assertNoLeaks(result, 'stdout')).toThrow(/password \(raw\) at stdout:2/);
  });

  test('catches a secret in a file (path, line, mode) and in base64 (docker config auth)', () => {
    const env = path.join(dir, 'sub', 'job.env');
    fs.mkdirSync(path.dirname(env), { recursive: true });
    fs.writeFileSync(env, `A=1\nexport TOKEN='${c.token}'\n`, { mode: 0o644 });
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ auths: { r: { auth: Buffer.from(`AWS:${c.password}`).toString('base64') } } }),
    );
    const result = scan({ secrets: c, dirs: [dir] });
    const where = result.hits.map((h) => `${h.secret}/${h.encoding}@${h.where}`);
    expect(where).toContain(`token/raw@${env}:2 (mode 644)`);
    expect(where.some((w) => w.startsWith('password/base64@') && w.includes('config.json:1'))).toBe(true);
    expect(() => assertNoLeaks(result)).toThrow(/2 secret leak/);
  });

  test('catches a secret on the argv of a recorded binary and in a /proc cmdline snapshot', async () => {
    const rec = createArgvRecorder({ binaries: ['sh', 'git'] });
    try {
      const watch = watchCmdlines(10);
      // `sh -c 'sleep 0.3' <token>`: the token is $0 of the script, visible in ps for 0.3 s
      const child = spawn('sh', ['-c', 'sleep 0.3', c.token], { env: rec.env(), stdio: 'ignore' });
      await new Promise((resolve) => child.on('close', resolve));
      const samples = watch.stop();
      await run('git', ['--version', `--super-prefix=${c.password}`], { env: rec.env() });
      const result = scan({ secrets: c, argvLogs: [rec], cmdlines: samples });
      const where = result.hits.map((h) => h.where);
      expect(where).toContain('argv sh call #1 arg 3 (sh -c sleep 0.3 …)');
      expect(where.some((w) => w.startsWith('argv git call #1 arg 2'))).toBe(true);
      expect(where.some((w) => w.startsWith('cmdline pid '))).toBe(true);
    } finally {
      rec.cleanup();
    }
  });

  test('passes on clean output and ignores ::add-mask:: announcements', async () => {
    const r = await run(
      process.execPath,
      ['-e', 'console.log("::add-mask::" + process.env.PW); console.log("logged in as shipline")'],
      { env: { ...process.env, PW: c.password } },
    );
    const file = path.join(dir, 'clean.txt');
    fs.writeFileSync(file, 'nothing to see\n');
    const result = scan({ secrets: c, texts: { stdout: r.stdout, stderr: r.stderr }, files: [file] });
    expect(result.hits).toEqual([]);
    expect(result.clean).toBe(true);
    expect(result.scanned).toMatchObject({ texts: 2, files: 1 });
    expect(() => assertNoLeaks(result)).not.toThrow();
    expect(scan({ secrets: c, texts: { stdout: r.stdout }, ignoreAddMask: false }).clean).toBe(false);
  });
});

describeBench('docker', 'canary scanner with the docker shim', (env) => {
  const c = plantCanaries('dockerpw');

  test('a secret passed as `docker run -e NAME=value` is caught in the docker argv log', async () => {
    const shim = createDockerShim();
    try {
      const r = await run(
        'docker',
        ['run', '--rm', '--network', 'none', '-e', `TOKEN=${c.dockerpw}`, env.TB_BASE_IMAGE_LOCAL, 'true'],
        { env: shim.env() },
      );
      expect(r.code).toBe(0);
      const result = scan({ secrets: c, argvLogs: [shim], texts: { stdout: r.stdout, stderr: r.stderr } });
      expect(result.clean).toBe(false);
      expect(result.hits[0]?.where).toBe('argv docker call #1 arg 6 (docker run --rm …)');
      expect(result.hits[0]?.excerpt).toBe('TOKEN=<dockerpw>');
    } finally {
      shim.cleanup();
    }
  });

  test('`docker run -e NAME` (value from the environment) and --password-stdin are clean', async () => {
    const shim = createDockerShim();
    const config = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-canary-docker-'));
    try {
      const r = await run(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'none',
          '-e',
          'TOKEN',
          env.TB_BASE_IMAGE_LOCAL,
          'sh',
          '-c',
          'test -n "$TOKEN" && echo has-token',
        ],
        {
          env: shim.env({ ...process.env, TOKEN: c.dockerpw }),
        },
      );
      expect(r.stdout.trim()).toBe('has-token');
      const login = await run(
        'docker',
        ['--config', config, 'login', '-u', env.TB_REGISTRY_BASIC_USER, '--password-stdin', env.TB_REGISTRY_BASIC],
        {
          env: shim.env(),
          input: env.TB_REGISTRY_BASIC_PASSWORD,
        },
      );
      expect(login.code).toBe(0);
      expect(shim.records().map((x) => (x.argv[0] === '--config' ? x.argv[2] : x.argv[0]))).toEqual(['run', 'login']);
      assertNoLeaks(
        scan({
          secrets: { ...c, registry: env.TB_REGISTRY_BASIC_PASSWORD },
          argvLogs: [shim],
          texts: { stdout: r.stdout, stderr: r.stderr, loginOut: login.stdout, loginErr: login.stderr },
        }),
      );
      // ... while docker's own credential store does hold it (base64): the scanner sees that too
      expect(scan({ secrets: { registry: env.TB_REGISTRY_BASIC_PASSWORD }, dirs: [config] }).hits[0]?.encoding).toBe(
        'base64',
      );
    } finally {
      shim.cleanup();
      fs.rmSync(config, { recursive: true, force: true });
    }
  });
});
