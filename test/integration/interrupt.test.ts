// Steps interrupted mid-run (issue 13): SIGKILL then `--post`, and SIGTERM (the runtime
// runs the step's cleanup itself). Each step runs as its bundle in a GitLab-like job
// (CI_PROJECT_DIR, SHIPLINE_RUN_DIR a fresh 0700 dir, RUNNER_TEMP), in its own process
// group, killed the way a runner cancels a job (the whole group). Afterwards no valid
// Vault token, container, agent, key file, temporary image or temp dir of the run remains.
// Unique names; only this test's own containers, images and requests are counted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/exec';
import { benchControl, describeBench, type BenchEnv } from '../support/testbed';

jest.setTimeout(120_000);

const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
const uniq = (p: string) => `${p}-${crypto.randomBytes(4).toString('hex')}`;
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Waits (bounded) until `ok()` holds; fails naming what it waited for. */
async function until(
  what: string,
  ok: () => boolean | Promise<boolean>,
  ms = 60_000,
  detail: () => string = () => '',
): Promise<void> {
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end && i < 2400; i++) {
    if (await ok()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`);
}

interface Job {
  root: string;
  workspace: string;
  runDir: string;
  runnerTemp: string;
  env: NodeJS.ProcessEnv;
  /** Every shipline-* entry left in the temp dirs of the run (the runtime's and RUNNER_TEMP). */
  leftovers(): string[];
}

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function job(vars: Record<string, string> = {}): Job {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'interrupt-it-')));
  roots.push(root);
  const workspace = path.join(root, 'ws');
  const runDir = path.join(root, 'run');
  const runnerTemp = path.join(root, 'runner-temp');
  fs.mkdirSync(workspace);
  fs.mkdirSync(runDir, { mode: 0o700 }); // as the template does (mkdir -m 700)
  fs.mkdirSync(runnerTemp);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DOCKER_HOST: process.env.DOCKER_HOST,
    GITLAB_CI: 'true',
    CI_PROJECT_DIR: workspace,
    CI_JOB_ID: String(100000 + crypto.randomInt(800000)),
    CI_PIPELINE_ID: '77',
    CI_PROJECT_PATH: 'team/app',
    CI_COMMIT_SHA: '4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d',
    CI_COMMIT_BRANCH: 'main',
    CI_DEFAULT_BRANCH: 'main',
    CI_PIPELINE_SOURCE: 'push',
    SHIPLINE_RUN_DIR: runDir,
    RUNNER_TEMP: runnerTemp,
    ...vars,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const list = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((n) => n.startsWith('shipline-'))
          .map((n) => path.join(dir, n))
      : [];
  return {
    root,
    workspace,
    runDir,
    runnerTemp,
    env,
    leftovers: () => [...list(path.join(runDir, 'tmp')), ...list(runnerTemp)],
  };
}

interface Running {
  child: ChildProcess;
  out: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The step's bundle as the template runs it, in its own process group. */
function start(step: string, j: Job, args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', step, 'index.js'), ...args], {
    cwd: j.workspace,
    env: { ...j.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.once('close', (code, signal) => ok({ code, signal })),
  );
  return { child, out: () => out, exit };
}

/** Kills the whole group, as a runner cancelling the job does. */
function killGroup(r: Running, signal: NodeJS.Signals): void {
  try {
    process.kill(-r.child.pid!, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the step's own process only (the runner's graceful stop); bounded wait for its exit. */
async function term(r: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  r.child.kill('SIGTERM');
  const t = setTimeout(() => killGroup(r, 'SIGKILL'), 60_000);
  try {
    return await r.exit;
  } finally {
    clearTimeout(t);
  }
}

async function post(
  step: string,
  j: Job,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string }> {
  const r = start(step, j, ['--post'], extraEnv);
  const t = setTimeout(() => killGroup(r, 'SIGKILL'), 60_000);
  const { code } = await r.exit;
  clearTimeout(t);
  return { code, out: r.out() };
}

/** A loopback proxy to the bench Vault that records login answers and holds every secret read. */
async function holdingVault(target: string) {
  const tokens: string[] = [];
  let held = 0;
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      if (req.method === 'GET' && /^\/v1\/(secret|kv)\//.test(url)) {
        held++;
        hanging.push(res); // never answered: the step is mid-read
        return;
      }
      const headers = { ...req.headers };
      delete headers.host;
      const up = http.request(`${target}${url}`, { method: req.method, headers }, (upRes) => {
        const body: Buffer[] = [];
        upRes.on('data', (c: Buffer) => body.push(c));
        upRes.on('end', () => {
          const text = Buffer.concat(body).toString();
          if (url.endsWith('/login')) {
            const t = (JSON.parse(text) as { auth?: { client_token?: string } }).auth?.client_token;
            if (t) tokens.push(t);
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers).end(text);
        });
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokens,
    held: () => held,
    close: () =>
      new Promise<void>((ok) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Regular files under a directory (bounded depth), not following links. */
function filesUnder(dir: string, depth = 4): string[] {
  if (depth < 0 || !fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p, depth - 1) : e.isFile() ? [p] : [];
  });
}

const lookupSelf = async (vaultUrl: string, token: string) =>
  (await fetch(`${vaultUrl}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': token } })).status;

describeBench('vault', 'vault-secrets interrupted mid-read', (tb: BenchEnv) => {
  const vault = benchControl(tb.TB_VAULT_URL);
  const id = crypto.randomBytes(4).toString('hex');
  beforeAll(async () => {
    await vault.post('vault/secrets', { path: `secret/interrupt/${id}`, data: { password: `pw-${id}-value` } });
  });

  async function midRead() {
    const proxy = await holdingVault(tb.TB_VAULT_URL);
    const j = job({
      VAULT_ADDR: proxy.url,
      VAULT_ROLE_ID: tb.TB_VAULT_ROLE_ID,
      VAULT_SECRET_ID: tb.TB_VAULT_SECRET_ID,
      V_DB_PASSWORD: `secret/interrupt/${id}/password`,
      SHIPLINE_INPUT_KV_VERSION: '2',
    });
    const r = start('vault-secrets', j);
    await until('the step to log in and start reading a secret', () => proxy.held() > 0);
    expect(proxy.tokens).toHaveLength(1);
    expect(await lookupSelf(tb.TB_VAULT_URL, proxy.tokens[0]!)).toBe(200); // valid while the step runs
    return { proxy, j, r, token: proxy.tokens[0]! };
  }

  test('SIGKILL, then --post: the token is revoked (lookup-self 403), no temp dir left', async () => {
    const { proxy, j, r, token } = await midRead();
    try {
      killGroup(r, 'SIGKILL');
      expect((await r.exit).signal).toBe('SIGKILL');
      expect(await lookupSelf(tb.TB_VAULT_URL, token)).toBe(200); // nothing revoked it yet
      const p = await post('vault-secrets', j);
      expect(p.out).toContain('revoked the Vault token');
      expect(p.code).toBe(0);
      expect(await lookupSelf(tb.TB_VAULT_URL, token)).toBe(403);
      expect(j.leftovers()).toEqual([]);
      expect(p.out).not.toContain(token);
    } finally {
      await proxy.close();
    }
  });

  test('SIGTERM: the runtime runs the cleanup, the token is revoked without --post', async () => {
    const { proxy, j, r, token } = await midRead();
    try {
      const e = await term(r);
      if ((await lookupSelf(tb.TB_VAULT_URL, token)) !== 403)
        throw new Error(
          `after SIGTERM (exit ${String(e.code)}/${String(e.signal)}) the Vault token is still valid: the runtime's SIGTERM handler did not run vault-secrets' post\n${r.out()}`,
        );
      expect(e.code).toBe(143);
      expect(j.leftovers()).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describeBench('docker', 'run-in-container interrupted mid-command', (tb: BenchEnv) => {
  const mine: string[] = [];
  afterAll(() => {
    for (const n of mine) docker('rm', '--force', n);
  });

  async function midCommand() {
    const name = uniq('shipline-int');
    mine.push(name);
    const j = job({
      SHIPLINE_INPUT_IMAGE: tb.TB_BASE_IMAGE_LOCAL || tb.TB_BASE_IMAGE,
      SHIPLINE_INPUT_NAME: name,
      SHIPLINE_INPUT_RUN: 'echo started; sleep 60',
      SHIPLINE_INPUT_NETWORK: 'none',
      SHIPLINE_INPUT_COPY_IN: 'none',
    });
    const r = start('run-in-container', j);
    await until('the command to start in the container', () => r.out().includes('started'));
    expect(docker('container', 'inspect', name).status).toBe(0);
    return { j, r, name };
  }

  test('SIGKILL, then --post: the container is gone, no temp dir left', async () => {
    const { j, r, name } = await midCommand();
    killGroup(r, 'SIGKILL');
    await r.exit;
    expect(docker('container', 'inspect', name).status).toBe(0); // still there: nobody cleaned yet
    const p = await post('run-in-container', j);
    expect(p.code).toBe(0);
    expect(docker('container', 'inspect', name).status).not.toBe(0);
    expect(j.leftovers()).toEqual([]);
  });

  test('SIGTERM: the container is removed without --post', async () => {
    const { j, r, name } = await midCommand();
    const e = await term(r);
    if (docker('container', 'inspect', name).status === 0)
      throw new Error(
        `after SIGTERM (exit ${String(e.code)}/${String(e.signal)}) container ${name} remains: the runtime's SIGTERM handler did not run run-in-container's post\n${r.out()}`,
      );
    expect(e.code).toBe(143);
    expect(j.leftovers()).toEqual([]);
  });
});

describe('ssh-key interrupted while adding the key to its agent', () => {
  const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

  /** A job whose ssh-add hangs (a PATH shim), so the step is stopped after the agent started. */
  async function midAdd() {
    const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'interrupt-keys-'));
    roots.push(keys);
    const kf = path.join(keys, 'id');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', kf]).status).toBe(0);
    const shim = path.join(keys, 'bin');
    fs.mkdirSync(shim);
    const marker = path.join(keys, 'ssh-add-started');
    fs.writeFileSync(path.join(shim, 'ssh-add'), `#!/bin/sh\n: > '${marker}'\nexec sleep 60\n`, { mode: 0o755 });
    const j = job({
      PATH: `${shim}:${process.env.PATH ?? ''}`,
      SHIPLINE_INPUT_KEY_BASE64: fs.readFileSync(kf).toString('base64'),
      SHIPLINE_INPUT_KNOWN_HOSTS: `git.example.com ${HOST_KEY}`,
      SHIPLINE_INPUT_START_AGENT: 'true',
    });
    const r = start('ssh-key', j);
    await until('ssh-add to be called', () => fs.existsSync(marker));
    const agents = agentsOn(j.root);
    expect(agents).toHaveLength(1);
    return { j, r, agent: agents[0]! };
  }

  /** ssh-agent processes whose socket lies under this job's root. */
  function agentsOn(root: string): number[] {
    const out: number[] = [];
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        if (path.basename(cmd[0] ?? '') === 'ssh-agent' && cmd.some((a) => a.startsWith(root))) out.push(Number(d));
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }

  test('SIGKILL, then --post: the agent is gone, the key file is gone, no temp dir left', async () => {
    const { j, r, agent } = await midAdd();
    killGroup(r, 'SIGKILL');
    await r.exit;
    expect(agentsOn(j.root)).toEqual([agent]); // ssh-agent daemonised: the kill did not reach it
    const keyFiles = j.leftovers().map((d) => path.join(d, 'id_key'));
    expect(keyFiles.some((f) => fs.existsSync(f))).toBe(true);
    const p = await post('ssh-key', j);
    expect(p.code).toBe(0);
    await until('the agent to exit', () => agentsOn(j.root).length === 0, 10_000);
    expect(keyFiles.filter((f) => fs.existsSync(f))).toEqual([]);
    expect(j.leftovers()).toEqual([]);
  });

  test('SIGTERM: agent and key file removed without --post', async () => {
    const { j, r } = await midAdd();
    const e = await term(r);
    killGroup(r, 'SIGKILL'); // the hanging ssh-add shim
    await sleep(200);
    if (agentsOn(j.root).length || j.leftovers().length)
      throw new Error(
        `after SIGTERM (exit ${String(e.code)}/${String(e.signal)}) the agent or key dir remains (${j.leftovers().join(', ')}): the runtime's SIGTERM handler did not run ssh-key's post\n${r.out()}`,
      );
    expect(e.code).toBe(143);
  });
  afterAll(() => {
    for (const root of roots) for (const pid of agentsOn(root)) process.kill(pid, 'SIGKILL');
  });
});

describeBench(['docker', 'registry-basic'], 'build-push interrupted mid-build', (tb: BenchEnv) => {
  const ours = (out: string) => [...new Set(out.match(/shipline-build-push-[0-9a-f]{10}/g) ?? [])];
  const tempsOf = (id: string) => ({
    containers: docker('ps', '-a', '--filter', `name=${id}`, '--format', '{{.Names}}').stdout.trim(),
    images: docker('images', '--format', '{{.Repository}}:{{.Tag}}', id).stdout.trim(),
  });

  async function midBuild() {
    const repo = uniq('interrupt');
    const j = job({
      SHIPLINE_INPUT_REFS: `${tb.TB_REGISTRY_BASIC}/${repo}:1`,
      SHIPLINE_INPUT_PUSH: 'false',
      SHIPLINE_INPUT_CACHE_FROM: 'none',
      SHIPLINE_INPUT_BUILDER: 'docker',
      SHIPLINE_INPUT_SMOKE_TARGET: 'smoke',
      SHIPLINE_INPUT_USERNAME: tb.TB_REGISTRY_BASIC_USER,
      SHIPLINE_INPUT_PASSWORD: tb.TB_REGISTRY_BASIC_PASSWORD,
    });
    fs.writeFileSync(
      path.join(j.workspace, 'Dockerfile'),
      `FROM ${tb.TB_BASE_IMAGE_LOCAL || tb.TB_BASE_IMAGE} AS smoke\nRUN echo ${repo} > /x\nFROM smoke\nRUN echo building-${repo} && sleep 60\n`,
    );
    const r = start('build-push', j);
    await until('the target build to run its slow step', () => r.out().includes(`building-${repo}`), 90_000, r.out);
    // The private docker config with the credentials exists while it runs.
    const cfg = j.leftovers().filter((d) => path.basename(d).startsWith('shipline-build-push-config-'));
    expect(cfg).toHaveLength(1);
    return { j, r, repo };
  }

  test('SIGKILL, then --post: the credentials dir and the temporary images are gone', async () => {
    const { j, r } = await midBuild();
    killGroup(r, 'SIGKILL');
    await r.exit;
    // The run's temporary names, from what it recorded (its state, in the run dir).
    const recorded = filesUnder(j.runDir).map((f) => fs.readFileSync(f, 'utf8'));
    const [id] = ours(recorded.join('\n'));
    expect(id).toBeDefined();
    expect(tempsOf(id!).images).toContain(`${id}:smoke`); // the smoke build's temporary is there
    const p = await post('build-push', j);
    expect(p.code).toBe(0);
    expect(j.leftovers()).toEqual([]);
    await until(`no temporaries of ${id}`, () => tempsOf(id!).containers === '' && tempsOf(id!).images === '', 30_000);
  });

  test('SIGTERM: credentials dir and temporaries removed without --post', async () => {
    const { j, r } = await midBuild();
    const e = await term(r);
    killGroup(r, 'SIGKILL'); // the docker build client, if it outlived the step
    if (j.leftovers().length)
      throw new Error(
        `after SIGTERM (exit ${String(e.code)}/${String(e.signal)}) ${j.leftovers().join(', ')} remain: the runtime's SIGTERM handler did not run build-push's post\n${r.out()}`,
      );
    expect(e.code).toBe(143);
  });
});
