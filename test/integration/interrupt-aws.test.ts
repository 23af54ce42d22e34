// assume-role and ecr-login interrupted mid-call (issue 13, "SIGTERM and SIGKILL mid-run"):
// each step runs as its bundle (`node dist/<step>/index.js`) in a GitLab-like job with a
// SHIPLINE_RUN_DIR of this test's own, pointed (AWS_ENDPOINT_URL_STS / _ECR) at a loopback
// server of this test's own that takes the STS / ECR request and never answers (each held
// request is dropped after 30 s at the latest). Once the whole request has arrived the step
// gets SIGTERM (the runtime runs its cleanup: exit 143) or SIGKILL (then `--post`).
// Afterwards: nothing under the run dir's tmp/, no exported variable in the env file (or no
// env file), the job's docker config byte-for-byte as before (ecr-login), and no secret in
// anything the runs printed or left in the run dir or the checkout. Needs nothing but node.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readEnvFile } from '../support/assume-role-aws';
import { expectNoLeaks, plantCanaries } from '../support/canary';
import { repoRoot } from '../support/exec';
import { hostileServer, type Hostile } from '../support/hostile-server';
import { describeBench, type BenchEnv } from '../support/testbed';

jest.setTimeout(60_000);

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const HOLD_MS = 30_000; // a held request is dropped after this, so nothing waits forever
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Waits (bounded in time and count) until `ok()` holds; fails naming what it waited for. */
async function until(what: string, ok: () => boolean, ms: number, detail: () => string): Promise<void> {
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end && i < 1000; i++) {
    if (ok()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`);
}

interface Call {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface AwsServer {
  server: Hostile;
  /** Requests whose body arrived completely (the step is then waiting for the answer). */
  calls: Call[];
  close(): Promise<void>;
}

/**
 * Loopback STS / ECR that reads each request to its end and never answers it; a GET to
 * /oidc-token answers like GitHub's runner token endpoint with `oidcToken`.
 */
async function holdingAws(oidcToken?: string, ecrAnswer?: unknown): Promise<AwsServer> {
  const calls: Call[] = [];
  const server = await hostileServer((req, res, { timers }) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: { ...req.headers },
        body: Buffer.concat(chunks).toString(),
      };
      if (call.method === 'GET' && call.path.startsWith('/oidc-token') && oidcToken !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: oidcToken }));
        return;
      }
      calls.push(call);
      if (ecrAnswer !== undefined && String(call.headers['x-amz-target']).endsWith('.GetAuthorizationToken')) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(ecrAnswer));
        return;
      }
      const t = setTimeout(() => {
        timers.delete(t);
        res.destroy();
      }, HOLD_MS);
      timers.add(t);
    });
  });
  return { server, calls, close: () => server.close() };
}

interface Job {
  root: string;
  workspace: string;
  runDir: string;
  home: string;
  env: NodeJS.ProcessEnv;
}

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

/** A GitLab-like job: nothing AWS- or CI-related from the test process, the endpoints at `endpoint`. */
function job(endpoint: string, vars: Record<string, string>): Job {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'interrupt-aws-it-')));
  roots.push(root);
  const workspace = path.join(root, 'ws');
  const runDir = path.join(root, 'run');
  const home = path.join(root, 'home');
  fs.mkdirSync(workspace);
  fs.mkdirSync(home);
  fs.mkdirSync(runDir, { mode: 0o700 }); // as the template does (mkdir -m 700)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
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
    AWS_EC2_METADATA_DISABLED: 'true', // loopback only: never instance metadata
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_STS: endpoint,
    AWS_ENDPOINT_URL_ECR: endpoint,
    ...vars,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return { root, workspace, runDir, home, env };
}

interface Running {
  child: ChildProcess;
  out: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The step's bundle as the template runs it, in its own process group. */
function start(step: string, j: Job, args: string[] = []): Running {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', step, 'index.js'), ...args], {
    cwd: j.workspace,
    env: j.env,
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

function killGroup(r: Running, signal: NodeJS.Signals): void {
  try {
    process.kill(-r.child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Waits for the exit, SIGKILLing the group if it takes longer than `ms`. */
async function exited(r: Running, ms = 20_000) {
  const t = setTimeout(() => killGroup(r, 'SIGKILL'), ms);
  try {
    return await r.exit;
  } finally {
    clearTimeout(t);
  }
}

/** Starts the step and waits until its whole request has reached the server. */
async function midCall(step: string, j: Job, aws: AwsServer): Promise<Running> {
  const r = start(step, j);
  await until(
    `${step}'s request to reach the loopback server`,
    () => aws.calls.length > 0,
    20_000,
    () => [`server saw: ${JSON.stringify(aws.server.seen.map((s) => `${s.method} ${s.path}`))}`, r.out()].join('\n'),
  );
  expect(r.child.exitCode).toBeNull(); // still waiting for the answer
  // Neither step makes anything before its call (assume-role writes its shipline-aws-* dir,
  // ecr-login its entries, only from the answer): mid-call the run dir holds the runtime's
  // mark alone. Should a step start to create something first, this fails: then assert it
  // exists here, so the checks after the interruption show that the cleanup removed it.
  expect(fs.readdirSync(j.runDir)).toEqual(['checked']);
  return r;
}

type Ending = 'SIGTERM' | 'SIGKILL';

/** SIGTERM to the step's process (the runner's graceful stop), or SIGKILL to the group then `--post`. */
async function interrupt(step: string, j: Job, r: Running, how: Ending): Promise<string[]> {
  if (how === 'SIGTERM') {
    r.child.kill('SIGTERM');
    const e = await exited(r);
    expect({ code: e.code, signal: e.signal }).toEqual({ code: 143, signal: null });
    expect(r.out()).toContain(`SIGTERM: stopping ${step}`);
    return [r.out()];
  }
  killGroup(r, 'SIGKILL');
  expect((await exited(r)).signal).toBe('SIGKILL');
  const p = start(step, j, ['--post']);
  const e = await exited(p);
  expect(e.code).toBe(0);
  return [r.out(), p.out()];
}

/** What the run left in its private dir: entries under tmp/, and the exported variables. */
function leftInRunDir(j: Job) {
  const tmp = path.join(j.runDir, 'tmp');
  const envFile = path.join(j.runDir, 'env');
  const exportsJson = path.join(j.runDir, 'exports.json');
  return {
    tmp: fs.existsSync(tmp) ? fs.readdirSync(tmp) : [],
    envLines: fs.existsSync(envFile) ? fs.readFileSync(envFile, 'utf8').split('\n').filter(Boolean) : [],
    envVars: Object.keys(readEnvFile(envFile)),
    exportsRecord: fs.existsSync(exportsJson) ? fs.readFileSync(exportsJson, 'utf8') : '',
  };
}

const nothingLeft = { tmp: [], envLines: [], envVars: [], exportsRecord: '' };

/** No secret in what the runs printed, nor in any file of the run dir or the checkout. */
function noLeaks(j: Job, secrets: Record<string, string>, outs: string[]): void {
  expectNoLeaks({
    secrets,
    texts: Object.fromEntries(outs.map((o, n) => [`run ${n + 1}`, o])),
    dirs: [j.runDir, j.workspace],
  });
}

describe('assume-role interrupted mid-call to STS', () => {
  const cases: { source: string; how: Ending; extra: Record<string, string> }[] = [
    { source: 'web-identity-token input, export-token-file', how: 'SIGTERM', extra: { EXPORT_TOKEN_FILE: 'true' } },
    { source: 'web-identity-token input, export-token-file', how: 'SIGKILL', extra: { EXPORT_TOKEN_FILE: 'true' } },
    { source: 'GitHub OIDC, export: file', how: 'SIGTERM', extra: { EXPORT: 'file' } },
    { source: 'GitHub OIDC, export: file', how: 'SIGKILL', extra: { EXPORT: 'file' } },
  ];

  test.each(cases)(
    '$source, $how: exit as told, no temp dir, no exported variable, no secret printed',
    async ({ source, how, extra }) => {
      const c = plantCanaries('signature', 'requestToken');
      const token = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({
        iss: 'https://gitlab.example.com',
        aud: 'sts.amazonaws.com',
        sub: 'project_path:team/app:ref_type:branch:ref:main',
      })}.${c.signature}`;
      const github = source.startsWith('GitHub');
      const aws = await holdingAws(github ? token : undefined);
      try {
        const role = `arn:aws:iam::${ACCOUNT}:role/shipline-int-${crypto.randomBytes(4).toString('hex')}`;
        const inputs = Object.fromEntries(Object.entries(extra).map(([k, v]) => [`SHIPLINE_INPUT_${k}`, v]));
        const j = job(aws.server.url, {
          SHIPLINE_INPUT_ROLE_ARN: role,
          ...inputs,
          ...(github
            ? {
                ACTIONS_ID_TOKEN_REQUEST_URL: `${aws.server.url}/oidc-token?job=1`,
                ACTIONS_ID_TOKEN_REQUEST_TOKEN: c.requestToken,
              }
            : { SHIPLINE_INPUT_WEB_IDENTITY_TOKEN: token }),
        });
        const r = await midCall('assume-role', j, aws);
        // The request held is the one STS call, carrying this run's token.
        expect(aws.calls).toHaveLength(1);
        const form = new URLSearchParams(aws.calls[0]!.body);
        expect(aws.calls[0]!.method).toBe('POST');
        expect(form.get('Action')).toBe('AssumeRoleWithWebIdentity');
        expect(form.get('RoleArn')).toBe(role);
        expect(form.get('WebIdentityToken')).toBe(token);
        if (github) {
          const asked = aws.server.seen.filter((s) => s.path.startsWith('/oidc-token'));
          expect(asked).toHaveLength(1);
          expect(asked[0]!.headers.authorization).toBe(`Bearer ${c.requestToken}`);
        }

        const outs = await interrupt('assume-role', j, r, how);
        expect(leftInRunDir(j)).toEqual(nothingLeft);
        expect(aws.calls).toHaveLength(1); // nothing called STS again (post has no STS call)
        noLeaks(j, { ...c, token }, outs);
      } finally {
        await aws.close();
      }
    },
  );
});

describe('ecr-login interrupted mid-call to ECR', () => {
  test.each<Ending>(['SIGTERM', 'SIGKILL'])(
    'static keys, %s: exit as told, the docker config exactly as before, no temp dir, no secret printed',
    async (how) => {
      const c = plantCanaries('secretKey', 'sessionToken');
      const keyId = `AKIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
      const aws = await holdingAws();
      try {
        const j = job(aws.server.url, {
          AWS_ACCESS_KEY_ID: keyId,
          AWS_SECRET_ACCESS_KEY: c.secretKey,
          AWS_SESSION_TOKEN: c.sessionToken,
        });
        // The job's docker config, with an entry of another registry that must survive as it is.
        const dockerDir = path.join(j.root, 'docker');
        fs.mkdirSync(dockerDir, { mode: 0o700 });
        const config = path.join(dockerDir, 'config.json');
        const before = `${JSON.stringify(
          {
            auths: { 'registry.example.com': { auth: Buffer.from('ci:not-a-canary').toString('base64') } },
            experimental: 'enabled',
          },
          null,
          '\t',
        )}\n`;
        fs.writeFileSync(config, before, { mode: 0o600 });
        j.env.DOCKER_CONFIG = dockerDir;

        const r = await midCall('ecr-login', j, aws);
        expect(aws.calls).toHaveLength(1);
        const call = aws.calls[0]!;
        expect(call.method).toBe('POST');
        expect(call.headers['x-amz-target']).toBe('AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
        expect(String(call.headers.authorization)).toContain(`Credential=${keyId}/`);
        expect(call.headers['x-amz-security-token']).toBe(c.sessionToken);

        const outs = await interrupt('ecr-login', j, r, how);
        expect(fs.readFileSync(config, 'utf8')).toBe(before);
        expect(fs.readdirSync(dockerDir)).toEqual(['config.json']);
        expect((fs.statSync(config).mode & 0o777).toString(8)).toBe('600');
        expect(leftInRunDir(j)).toEqual(nothingLeft);
        expect(aws.calls).toHaveLength(1);
        noLeaks(j, { ...c, keyId }, outs);
      } finally {
        await aws.close();
      }
    },
  );
});

// KNOWN BUG (marked test.failing; make these plain tests once fixed): with method docker,
// ecr-login's main runs `docker login` once per registry and records what post must undo
// (state `added`) only after the last one (src/steps/ecr-login/main.ts), against "recorded
// in state *before* it is created" (docs/security.md, Interruption). Stopped while the
// second login hangs, neither the runtime's SIGTERM cleanup nor `--post` finds anything to
// undo, and the entry the first login wrote (the registry's credentials) stays in the job's
// docker config.
describeBench(['registry-basic', 'docker'], 'ecr-login method docker interrupted mid-login', (tb: BenchEnv) => {
  test.each<Ending>(['SIGTERM', 'SIGKILL'])(
    'two registries, the second login hangs, %s: the first entry docker login wrote is removed',
    async (how) => {
      const c = plantCanaries('secretKey');
      // The registry of the second entry: takes docker's /v2/ ping and never answers.
      const hanging = await hostileServer((_req, res, { timers }) => {
        const t = setTimeout(() => {
          timers.delete(t);
          res.destroy();
        }, HOLD_MS);
        timers.add(t);
      });
      const token = (user: string, pw: string) => Buffer.from(`${user}:${pw}`).toString('base64');
      const aws = await holdingAws(undefined, {
        authorizationData: [
          {
            authorizationToken: token(tb.TB_REGISTRY_BASIC_USER, tb.TB_REGISTRY_BASIC_PASSWORD),
            proxyEndpoint: `http://${tb.TB_REGISTRY_BASIC}`,
            expiresAt: Date.now() / 1000 + 3600,
          },
          {
            authorizationToken: token('AWS', 'unused'),
            proxyEndpoint: hanging.url,
            expiresAt: Date.now() / 1000 + 3600,
          },
        ],
      });
      try {
        const j = job(aws.server.url, {
          AWS_ACCESS_KEY_ID: `AKIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`,
          AWS_SECRET_ACCESS_KEY: c.secretKey,
          SHIPLINE_INPUT_METHOD: 'docker',
          ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
        });
        const dockerDir = path.join(j.root, 'docker');
        fs.mkdirSync(dockerDir, { mode: 0o700 });
        const config = path.join(dockerDir, 'config.json');
        const before = `${JSON.stringify({ auths: { 'registry.example.com': { auth: token('ci', 'x') } } }, null, '\t')}\n`;
        fs.writeFileSync(config, before, { mode: 0o600 });
        j.env.DOCKER_CONFIG = dockerDir;

        const r = start('ecr-login', j);
        await until(
          'the first docker login to finish and the second to reach the hanging registry',
          () => fs.readFileSync(config, 'utf8').includes(tb.TB_REGISTRY_BASIC) && hanging.seen.length > 0,
          30_000,
          () => `${fs.readFileSync(config, 'utf8')}\n${r.out()}`,
        );
        const outs = await interrupt('ecr-login', j, r, how);
        killGroup(r, 'SIGKILL'); // the docker login of the second registry, if it outlived the step
        expect(JSON.parse(fs.readFileSync(config, 'utf8'))).toEqual(JSON.parse(before));
        expect(leftInRunDir(j)).toEqual(nothingLeft);
        noLeaks(j, c, outs);
      } finally {
        await aws.close();
        await hanging.close();
      }
    },
  );
});
