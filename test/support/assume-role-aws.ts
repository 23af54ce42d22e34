// Helpers for the assume-role / ecr-login tests: a clean job environment (loopback only:
// instance metadata off, no inherited AWS_* or CI variables), running the CLI bundle, reading
// the 0600 env file, a bench role private to one test run, and request counts at the
// loopback endpoints filtered to that role.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, type RunResult } from './exec';
import { benchControl, type BenchEnv } from './testbed';

/** A job environment with nothing AWS- or CI-related inherited from the test process. */
export function awsJobEnv(bench: BenchEnv, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v === undefined ||
      /^(AWS_|CI|GITLAB_|GITHUB_|ACTIONS_|RUNNER_|SHIPLINE_|TB_|DOCKER_CONFIG$|INPUT_|STATE_)/.test(k)
    )
      continue;
    env[k] = v;
  }
  Object.assign(env, {
    AWS_EC2_METADATA_DISABLED: 'true', // never reach for 169.254.169.254: loopback only
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_STS: bench.TB_STS_URL,
    AWS_ENDPOINT_URL_ECR: bench.TB_ECR_URL,
    AWS_REGION: bench.TB_AWS_REGION,
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface Workspace {
  dir: string;
  home: string;
  envFile: string;
  outputFile: string;
  stateDir: string;
  cleanup(): void;
}

export function workspace(prefix = 'shipline-aws-'): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  return {
    dir,
    home,
    envFile: path.join(dir, '.shipline', 'env'),
    outputFile: path.join(dir, '.shipline', 'outputs.env'),
    stateDir: path.join(dir, '.shipline', 'state'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** `node dist/cli.js <step> ...args` in the workspace. */
export function runCli(
  step: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ws: Workspace,
  node = process.execPath,
): Promise<RunResult> {
  return run(node, [path.join(repoRoot, 'dist', 'cli.js'), step, ...args], {
    cwd: ws.dir,
    env: { HOME: ws.home, ...env },
    timeoutMs: 120_000,
  });
}

/** `export NAME='value'` lines back into a map. */
export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(file)) return out;
  const re = /^export ([A-Za-z_][A-Za-z0-9_]*)='((?:[^']|'\\'')*)'$/gm;
  const text = fs.readFileSync(file, 'utf8');
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  return out;
}

export const mode = (file: string): string => (fs.statSync(file).mode & 0o777).toString(8);

/** Adds a role only this test run uses (requests are then counted by its ARN). */
export async function privateRole(
  bench: BenchEnv,
  opts: { audiences?: string[]; subjects?: string[]; assumeRole?: boolean } = {},
): Promise<string> {
  const name = `shipline-ar-${crypto.randomBytes(4).toString('hex')}`;
  await benchControl(bench.TB_STS_URL).post('sts/roles', {
    name,
    maxSessionDuration: 3600,
    webIdentity: { audiences: opts.audiences ?? ['sts.amazonaws.com'], subjects: opts.subjects ?? ['*'] },
    ...(opts.assumeRole ? { assumeRole: {} } : {}),
  });
  return `arn:aws:iam::${bench.TB_ECR_ACCOUNT}:role/${name}`;
}

/** STS requests naming `roleArn` (all actions, or one). */
export async function stsRequests(bench: BenchEnv, roleArn: string, action?: string) {
  const all = await benchControl(bench.TB_STS_URL).requests(action);
  return all.filter((r) => r.details?.role === roleArn);
}

/** Highest request sequence number seen so far at an endpoint (count later ones only). */
export async function lastSeq(url: string): Promise<number> {
  const all = await benchControl(url).requests();
  return all.reduce((m, r) => Math.max(m, r.seq), 0);
}

export async function requestsSince(url: string, seq: number, action?: string) {
  return (await benchControl(url).requests(action)).filter((r) => r.seq > seq);
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
