// Access to the test bench from tests: its TB_* variables, a per-part liveness check that
// skips locally (with the part named) and fails under CI=true, and the endpoints' control API.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './exec';

export const TB_KEYS = [
  'SHIPLINE_TESTBED',
  'TB_STATE_DIR',
  'TB_DOCKER_HOST',
  'TB_DOCKER_MANAGED',
  'TB_BASE_IMAGE',
  'TB_BASE_IMAGE_LOCAL',
  'TB_REGISTRY_OPEN',
  'TB_REGISTRY_OPEN_PROXY',
  'TB_REGISTRY_BASIC',
  'TB_REGISTRY_BASIC_USER',
  'TB_REGISTRY_BASIC_PASSWORD',
  'TB_REGISTRY_TOKEN',
  'TB_REGISTRY_TOKEN_PROXY',
  'TB_REGISTRY_TOKEN_USER',
  'TB_REGISTRY_TOKEN_PASSWORD',
  'TB_REGISTRY_TOKEN_SERVICE',
  'TB_TOKEN_SERVER',
  'TB_AWS_REGION',
  'TB_AWS_ACCESS_KEY_ID',
  'TB_AWS_SECRET_ACCESS_KEY',
  'TB_STS_URL',
  'TB_STS_ROLE_ARN',
  'TB_STS_ROLE_MAIN_ARN',
  'TB_STS_ROLE_GITLAB_ARN',
  'TB_STS_ROLE_LONG_ARN',
  'TB_STS_ROLE_EXTERNAL_ARN',
  'TB_STS_EXTERNAL_ID',
  'TB_ECR_URL',
  'TB_ECR_ACCOUNT',
  'TB_ECR_REGISTRY',
  'TB_ECR_PASSWORD',
  'TB_OIDC_URL',
  'TB_OIDC_KEY_FILE',
  'TB_GITHUB_ID_TOKEN_URL',
  'TB_GITHUB_ID_TOKEN_REQUEST_TOKEN',
  'TB_VAULT_URL',
  'TB_VAULT_AUTH_PATH',
  'TB_VAULT_ROLE_ID',
  'TB_VAULT_SECRET_ID',
  'TB_VAULT_CI_AUTH_PATH',
  'TB_VAULT_CI_ROLE_ID',
  'TB_VAULT_CI_SECRET_ID',
  'TB_NODE24',
] as const;

export type TbKey = (typeof TB_KEYS)[number];
export type BenchEnv = Record<TbKey, string>;

/** Parts as `scripts/testbed status` names them, plus groups. */
export type BenchPart =
  | 'dockerd'
  | 'registry-open'
  | 'registry-basic'
  | 'registry-token'
  | 'token-server'
  | 'sts'
  | 'ecr'
  | 'oidc'
  | 'oidc-key'
  | 'vault'
  | 'registry-open-proxy'
  | 'registry-token-proxy'
  | 'base-image'
  | 'node24'
  | 'docker'
  | 'registries'
  | 'aws'
  | 'all';

const GROUPS: Record<string, string[]> = {
  docker: ['dockerd', 'base-image'],
  registries: ['registry-open', 'registry-basic', 'registry-token', 'token-server'],
  aws: ['sts', 'ecr', 'oidc', 'oidc-key'],
  all: [
    'dockerd',
    'registry-open',
    'registry-basic',
    'registry-token',
    'token-server',
    'sts',
    'ecr',
    'oidc',
    'oidc-key',
    'vault',
    'registry-open-proxy',
    'registry-token-proxy',
    'base-image',
    'node24',
  ],
};

export const testbedScript = path.join(repoRoot, 'scripts', 'testbed');

export const isCI = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');

function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  }
  return out;
}

let cachedEnv: BenchEnv | null | undefined;

/**
 * The bench's TB_* variables: from process.env when the caller already exported them
 * (`eval "$(scripts/testbed env)"`), else from `scripts/testbed env` (run once). The values
 * are also copied into process.env so helpers (mintIdToken, …) find them.
 */
export function loadBenchEnv(): BenchEnv | undefined {
  if (cachedEnv !== undefined) return cachedEnv ?? undefined;
  let values: Record<string, string>;
  if (process.env.SHIPLINE_TESTBED === '1' && process.env.TB_STATE_DIR && process.env.TB_STS_URL) {
    values = Object.fromEntries(TB_KEYS.map((k) => [k, process.env[k] ?? '']));
  } else {
    const r = spawnSync('bash', [testbedScript, 'env'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) {
      cachedEnv = null;
      return undefined;
    }
    values = parseExports(r.stdout);
  }
  const env = Object.fromEntries(TB_KEYS.map((k) => [k, values[k] ?? ''])) as BenchEnv;
  for (const k of TB_KEYS) if (env[k] !== '' && process.env[k] === undefined) process.env[k] = env[k];
  cachedEnv = env;
  return env;
}

let cachedStatus: Map<string, boolean> | undefined;

/** Liveness of every part, from `scripts/testbed status` (run once per test file). */
export function benchStatus(): Map<string, boolean> {
  if (cachedStatus) return cachedStatus;
  const env = loadBenchEnv();
  const status = new Map<string, boolean>();
  if (env) {
    const r = spawnSync('bash', [testbedScript, 'status'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, SHIPLINE_TESTBED_DIR: env.TB_STATE_DIR },
    });
    for (const line of (r.stdout ?? '').split('\n')) {
      const m = /^\s+(\S+)\s+(up|DOWN)\b/.exec(line);
      if (m) status.set(m[1]!, m[2] === 'up');
    }
  }
  cachedStatus = status;
  return status;
}

export type BenchCheck = { ok: true; env: BenchEnv } | { ok: false; skip: true; reason: string };

/**
 * Is the bench up for these parts? Locally a missing part gives a skip marker whose
 * reason names it; under CI=true it throws, so a missing bench is a failure, never a skip.
 */
export function requireBench(parts: BenchPart | BenchPart[] = 'all'): BenchCheck {
  const wanted = [...new Set((Array.isArray(parts) ? parts : [parts]).flatMap((p) => GROUPS[p] ?? [p]))];
  const env = loadBenchEnv();
  let reason: string | undefined;
  if (!env) {
    reason = `the test bench is not up (needs ${wanted.join(', ')}): run \`bash scripts/testbed up\``;
  } else {
    const status = benchStatus();
    const down = wanted.filter((p) => status.get(p) !== true);
    if (down.length)
      reason = `test bench part(s) down: ${down.join(', ')} — run \`bash scripts/testbed up\` (status: \`bash scripts/testbed status\`)`;
  }
  if (reason === undefined) return { ok: true, env: env! };
  if (isCI()) throw new Error(`CI=true and ${reason}`);
  return { ok: false, skip: true, reason };
}

/**
 * `describe` that runs only when the bench parts are up. Locally it registers one skipped
 * test whose name carries the reason; under CI=true it registers a failing test instead.
 */
export function describeBench(parts: BenchPart | BenchPart[], title: string, fn: (env: BenchEnv) => void): void {
  let check: BenchCheck;
  try {
    check = requireBench(parts);
  } catch (e) {
    const error = e as Error;
    describe(title, () => {
      it('needs the test bench', () => {
        throw error;
      });
    });
    return;
  }
  if (check.ok) {
    const env = check.env;
    describe(title, () => fn(env));
    return;
  }
  const reason = check.reason;
  process.stderr.write(`[bench] skipping "${title}": ${reason}\n`);
  describe(title, () => {
    it.skip(`skipped: ${reason}`, () => undefined);
  });
}

export interface LoggedRequest {
  seq: number;
  time: string;
  endpoint: string;
  method: string;
  path: string;
  action: string;
  status?: number;
  ms?: number;
  fault?: string;
  details?: Record<string, unknown>;
}

export interface ControlApi {
  reset(): Promise<void>;
  fault(fault: {
    kind: '500' | '429' | 'drop' | 'slow' | 'error';
    count?: number;
    match?: string;
    retryAfter?: number;
    delayMs?: number;
    status?: number;
    code?: string;
    message?: string;
  }): Promise<void>;
  clearFaults(): Promise<void>;
  /** Logged requests, optionally only one action (string or filter) and only after a `mark()`. */
  requests(filter?: string | { action?: string; since?: number }): Promise<LoggedRequest[]>;
  /** Sequence number of the latest logged request (pass to requests({since})). */
  mark(): Promise<number>;
  counts(): Promise<Record<string, number>>;
  /** POST an endpoint-specific control route, e.g. post('vault/seal', {sealed: true}). */
  post(route: string, body: unknown): Promise<unknown>;
}

/** The `/__control` API of one bench endpoint (base URL like TB_STS_URL or `http://` + TB_REGISTRY_OPEN_PROXY). */
export function benchControl(baseUrl: string): ControlApi {
  const base = /^https?:\/\//.test(baseUrl) ? baseUrl.replace(/\/+$/, '') : `http://${baseUrl}`;
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const r = await fetch(`${base}/__control/${route}`, init);
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${base}/__control/${route}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    reset: async () => {
      await call('POST', 'reset');
    },
    fault: async (f) => {
      await call('POST', 'faults', { count: 1, ...f });
    },
    clearFaults: async () => {
      await call('DELETE', 'faults');
    },
    requests: async (arg = {}) => {
      const filter = typeof arg === 'string' ? { action: arg } : arg;
      const q = new URLSearchParams();
      if (filter.action) q.set('action', filter.action);
      if (filter.since) q.set('since', String(filter.since));
      const qs = q.toString();
      const r = (await call('GET', `requests${qs ? `?${qs}` : ''}`)) as { requests: LoggedRequest[] };
      return r.requests;
    },
    mark: async () => {
      const r = (await call('GET', 'requests')) as { requests: LoggedRequest[] };
      return r.requests.length ? r.requests[r.requests.length - 1]!.seq : 0;
    },
    counts: async () => ((await call('GET', 'counts')) as { counts: Record<string, number> }).counts,
    post: (route, body) => call('POST', route, body),
  };
}
