#!/usr/bin/env node
// Every step's start-up against bare `node -e ''`, measured interleaved in one run, on Node 20
// (this node) and Node 24 ($TB_NODE24, GitHub's runtime for actions), each process under
// `env -i` (only what the case names; the machine's NODE_EXTRA_CA_CERTS would add ~60 ms):
//   - fail-fast: a bad input (exit 2 before any heavy module loads), target <= 1.2x;
//   - happy path, where the bench has the endpoint: the whole step against the loopback
//     STS/ECR/OIDC (round trips included), target <= 2x, with the requests each run made
//     (counted by the endpoints' request logs, /__control/requests) beside the time.
// The anchors (third-party actions) cannot run here; their figures, from issue 17 (measured
// side by side there: 2 cores, Node 20 and 24, 25 interleaved pairs, env -i), are quoted
// as facts at the end.
// Usage: node bench/steps.mjs [--runs 25]   (build first: npm run build; bench up for happy paths)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median, timeCase } from './lib/measure.mjs';

const { fetch } = globalThis;

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '25' } } });
const runs = Number(values.runs);
const work = mkdtempSync(join(tmpdir(), 'shipline-bench-steps-'));
const bundle = (step) => join(root, 'dist', step, 'index.js');
const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };

// One invalid input per step (refused by input validation, exit 2), as bench/cold-start.mjs.
const FAIL_FAST = {
  'image-tags': ['--latest', 'maybe'],
  'build-push': ['--push', 'maybe'],
  'kaniko-build': ['--builder', 'nope'],
  retag: ['--source', 'a:b', '--overwrite', 'maybe'],
  'assume-role': ['--role-arn', 'nope'],
  'ecr-login': ['--region', 'NOPE'],
  'run-in-container': ['--keep', 'maybe'],
  'ssh-key': ['--start-agent', 'maybe'],
  'vault-secrets': ['--export-token', 'maybe'],
};

function benchEnv() {
  const r = spawnSync('bash', [join(root, 'scripts', 'testbed'), 'env'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const env = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/'\\''/g, "'");
  }
  return env.TB_STS_URL ? env : undefined;
}

async function json(url, init) {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}
const post = (url, body) =>
  json(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const cases = [{ name: "node -e ''", kind: 'base', args: ['-e', ''], env: base, code: 0 }];
for (const [step, args] of Object.entries(FAIL_FAST))
  if (existsSync(bundle(step)))
    cases.push({ name: `${step} fail-fast`, kind: 'fail-fast', args: [bundle(step), ...args], env: base, code: 2 });

const gitlab = {
  ...base,
  GITLAB_CI: 'true',
  CI_PROJECT_DIR: work,
  CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
  CI_COMMIT_BRANCH: 'main',
  CI_DEFAULT_BRANCH: 'main',
  CI_COMMIT_TIMESTAMP: '2026-11-20T10:00:00Z',
};
cases.push({
  name: 'image-tags happy path (GitLab push to main)',
  kind: 'happy',
  args: [bundle('image-tags'), '--images', 'registry.example.com/team/app'],
  env: gitlab,
  code: 0,
  requests: [],
});

const tb = benchEnv();
const roles = [];
if (tb) {
  // Roles of this run alone, so the STS log counts only our requests.
  const id = `${process.pid}-${Date.now().toString(36)}`;
  for (const name of [`bench-oidc-${id}`, `bench-key-${id}`]) {
    await post(`${tb.TB_STS_URL}/__control/sts/roles`, {
      name,
      maxSessionDuration: 3600,
      webIdentity: { audiences: ['sts.amazonaws.com'], subjects: ['*'] },
      assumeRole: {},
    });
    roles.push(`arn:aws:iam::${tb.TB_ECR_ACCOUNT}:role/${name}`);
  }
  const { token } = await post(`${tb.TB_OIDC_URL}/__mint`, {
    flavor: 'gitlab',
    audience: 'sts.amazonaws.com',
    ttlSeconds: 3600,
  });
  const aws = {
    ...base,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: tb.TB_AWS_REGION,
    AWS_ENDPOINT_URL_STS: tb.TB_STS_URL,
    AWS_ENDPOINT_URL_ECR: tb.TB_ECR_URL,
    SHIPLINE_ENV_FILE: join(work, 'env'),
    SHIPLINE_OUTPUT_FILE: join(work, 'out.env'),
    SHIPLINE_STATE_DIR: join(work, 'state'),
  };
  const [oidcRole, keyRole] = roles;
  cases.push(
    {
      name: 'assume-role GitLab OIDC (1 STS call)',
      kind: 'happy',
      args: [bundle('assume-role')],
      env: {
        ...aws,
        AWS_ID_TOKEN: token,
        SHIPLINE_INPUT_ROLE_ARN: oidcRole,
        SHIPLINE_INPUT_WEB_IDENTITY_TOKEN_VARIABLE: 'AWS_ID_TOKEN',
      },
      code: 0,
      requests: [{ url: tb.TB_STS_URL, role: oidcRole, action: 'AssumeRoleWithWebIdentity', per: 1 }],
    },
    {
      name: 'assume-role GitHub OIDC (token + 1 STS call)',
      kind: 'happy',
      args: [bundle('assume-role')],
      env: {
        ...aws,
        ACTIONS_ID_TOKEN_REQUEST_URL: tb.TB_GITHUB_ID_TOKEN_URL,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: tb.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
        SHIPLINE_INPUT_ROLE_ARN: oidcRole,
      },
      code: 0,
      requests: [{ url: tb.TB_STS_URL, role: oidcRole, action: 'AssumeRoleWithWebIdentity', per: 1 }],
    },
    {
      name: 'assume-role static keys (1 signed AssumeRole)',
      kind: 'happy',
      args: [bundle('assume-role'), '--export', 'none'],
      env: {
        ...aws,
        SHIPLINE_INPUT_ROLE_ARN: keyRole,
        SHIPLINE_INPUT_AWS_ACCESS_KEY_ID: tb.TB_AWS_ACCESS_KEY_ID,
        SHIPLINE_INPUT_AWS_SECRET_ACCESS_KEY: tb.TB_AWS_SECRET_ACCESS_KEY,
      },
      code: 0,
      requests: [{ url: tb.TB_STS_URL, role: keyRole, action: 'AssumeRole', per: 1 }],
    },
    {
      name: 'ecr-login static keys (1 GetAuthorizationToken)',
      kind: 'happy',
      args: [bundle('ecr-login')],
      env: {
        ...aws,
        AWS_ACCESS_KEY_ID: tb.TB_AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: tb.TB_AWS_SECRET_ACCESS_KEY,
        DOCKER_CONFIG: join(work, 'docker'),
        SHIPLINE_INPUT_LOGOUT: 'false',
      },
      code: 0,
      // The bench key is shared with other users of the bench: counted by sequence window.
      requests: [{ url: tb.TB_ECR_URL, action: 'GetAuthorizationToken', per: 1, shared: true }],
    },
  );
} else {
  console.log('bench not up (scripts/testbed up): fail-fast cases and image-tags only');
}

/** Requests an endpoint logged for `q` after sequence `since` (ours: by role, or all in the window). */
async function count(q, since) {
  const { requests } = await json(`${q.url}/__control/requests?action=${encodeURIComponent(q.action)}`);
  return requests.filter((r) => r.seq > since && (!q.role || r.details?.role === q.role)).length;
}
async function lastSeq(url) {
  const { requests } = await json(`${url}/__control/requests`);
  return requests.reduce((m, r) => Math.max(m, r.seq), 0);
}

const nodes = [process.execPath, ...(tb?.TB_NODE24 && existsSync(tb.TB_NODE24) ? [tb.TB_NODE24] : [])];
const version = (bin) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
const verdicts = [];
for (const bin of nodes) {
  for (const c of cases) timeCase(bin, c, work); // warm the page cache
  const samples = cases.map(() => []);
  const counted = cases.map(() => 0);
  for (let i = 0; i < runs; i++) {
    // A fresh order each round: no case always follows the same other one.
    const order = cases.map((c, j) => [Math.random(), j]).sort((a, b) => a[0] - b[0]);
    for (const [, j] of order) {
      const c = cases[j];
      const before = await Promise.all((c.requests ?? []).map((q) => lastSeq(q.url)));
      samples[j].push(timeCase(bin, c, work));
      const got = await Promise.all((c.requests ?? []).map((q, k) => count(q, before[k])));
      counted[j] += got.reduce((a, b) => a + b, 0);
    }
  }
  const bare = median(samples[0]);
  console.log(`\nnode ${version(bin)}: ${runs} interleaved runs per case, median, env -i`);
  console.log(`| case | ms | x node -e '' | target | requests per run |`);
  console.log(`|---|---|---|---|---|`);
  cases.forEach((c, j) => {
    const ms = median(samples[j]);
    const ratio = ms / bare;
    const target = c.kind === 'fail-fast' ? 1.2 : c.kind === 'happy' ? 2 : undefined;
    const ok = target === undefined ? '' : ratio <= target ? ` <= ${target} OK` : ` > ${target} OVER`;
    const per = c.requests?.length
      ? `${(counted[j] / runs).toFixed(2)} (${c.requests.map((q) => q.action).join(' + ')}${c.requests.some((q) => q.shared) ? ', shared key: others may add' : ''})`
      : c.kind === 'happy'
        ? '0'
        : '';
    console.log(`| ${c.name} | ${ms.toFixed(1)} | ${ratio.toFixed(2)}x | ${ok.trim()} | ${per} |`);
    if (target !== undefined) verdicts.push({ node: version(bin), name: c.name, ratio, target });
  });
}

console.log(`
Anchors (issue 17, measured side by side there; quoted, not run here):
| case | anchor (x node -e '') | shipline then (x node -e '') |
|---|---|---|
| fail-fast, worst steps | build-push-action 8.7-10x | build-push 1.33-1.35x, ssh-key 1.34x, kaniko-build 1.22-1.26x |
| assume-role, GitHub OIDC | configure-aws-credentials 5.9-6.7x (3 requests) | 2.08x (token + 1 STS call) |
| ecr-login, static keys, 1 GetAuthorizationToken | amazon-ecr-login 5.4-7.0x | 4.5-4.8x |
| image-tags, push to main | metadata-action 9.4-13.5x | 1.35-1.38x |`);

for (const s of ['assume-role', 'ecr-login', 'retag']) {
  const size = (f) => (existsSync(join(root, 'dist', s, f)) ? statSync(join(root, 'dist', s, f)).size : 0);
  const head = (f) => {
    const r = spawnSync('git', ['-C', root, 'cat-file', '-s', `HEAD:dist/${s}/${f}`], { encoding: 'utf8' });
    return r.status === 0 ? Number(r.stdout.trim()) : 0;
  };
  console.log(
    `dist/${s}: index.js ${size('index.js')} B (HEAD ${head('index.js')}), lazy.js ${size('lazy.js')} B (HEAD ${head('lazy.js')}), aws-sdk.js ${size('aws-sdk.js')} B (loaded only for the SDK chain)`,
  );
}
const over = verdicts.filter((v) => v.ratio > v.target);
console.log(
  over.length
    ? `\nOVER target: ${over.map((v) => `${v.name} on ${v.node} ${v.ratio.toFixed(2)}x > ${v.target}x`).join('; ')}`
    : '\nevery case within its target',
);
rmSync(work, { recursive: true, force: true });
