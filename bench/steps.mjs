#!/usr/bin/env node
// Every step's start-up against bare `node -e ''`, measured interleaved in one run, on Node 20
// (this node) and Node 24 ($TB_NODE24, GitHub's runtime for actions), each process under
// `env -i` (only what the case names; the machine's NODE_EXTRA_CA_CERTS would add ~60 ms):
//   - fail-fast: a bad input (exit 2 before any heavy module loads), target <= 1.2x;
//   - happy path, where the bench has the endpoint: the whole step against the loopback
//     STS/ECR/OIDC (round trips included), target <= 2x, with the requests each run made
//     (counted by the endpoints' request logs, /__control/requests) beside the time.
// Happy paths run as in a CI job: GitLab's variables (GITLAB_CI, CI_JOB_ID, the commit, and
// the fresh private run directory the templates make, SHIPLINE_RUN_DIR) or GitHub's
// (GITHUB_ACTIONS, INPUT_<NAME>, the runner's files under a fresh RUNNER_TEMP). Run as the
// CLI instead, a step that needs the commit asks `git log` for it (a process more).
// Beside the wall time (median), each case's CPU time (user + system of the process, mean, from
// the kernel's accounting of reaped children): on a shared, loaded machine the wall time
// mostly measures the wait for a CPU, the CPU time what the step itself costs.
// With `--before DIR` every case also runs from another dist/ (one built from an earlier
// commit), so a change reads as two ratios from the same run, and bundle sizes are compared.
// The anchors (third-party actions) cannot run here; their figures, from issue 17 (measured
// side by side there: 2 cores, Node 20 and 24, 25 interleaved pairs, env -i), are quoted
// as facts at the end.
// `--only REGEX` keeps the cases whose name matches (and the baseline); `--profile DIR` runs
// each kept case `--runs` times under `--cpu-prof` instead and prints where the time went
// (self time by file and by function, per run), the profiles left in DIR.
// `--node-args=--trace-gc` passes flags to node in every kept case; `--show` runs each kept
// case once and prints what it wrote (with `--coverage DIR`, each run's V8 coverage into DIR:
// what scripts/compile-hints.mjs reads). `--dist DIR` times DIR's bundles in place of dist/.
// Usage: node bench/steps.mjs [--runs 25] [--before DIR] [--only-node 24] [--only RE] [--profile DIR]
//        [--node-args ARGS] [--show [--coverage DIR]] [--dist DIR]
//        (build first: npm run build; bench up for the AWS happy paths)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { childCpuMs, mean, median, timeCase } from './lib/measure.mjs';
import { summarizeProfiles } from './lib/profile.mjs';

const { fetch } = globalThis;

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '25' },
    before: { type: 'string' },
    'only-node': { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'string' },
    'node-args': { type: 'string', default: '' },
    show: { type: 'boolean', default: false },
    coverage: { type: 'string' },
    dist: { type: 'string' },
  },
});
const runs = Number(values.runs);
const work = mkdtempSync(join(tmpdir(), 'shipline-bench-steps-'));
const dists = [
  ['', resolve(values.dist ?? join(root, 'dist'))],
  ...(values.before ? [[' (before)', resolve(values.before)]] : []),
];
const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
// The job's checkout; the private run directories lie outside it, as on a runner.
const checkout = join(work, 'checkout');
mkdirSync(checkout);

// One invalid input per step (refused by input validation, exit 2), shared with
// test/unit/bundles.test.ts, which checks that such a run loads nothing but index.js.
const FAIL_FAST = JSON.parse(readFileSync(join(root, 'bench/fail-fast.json'), 'utf8'));

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
  // A kept-alive socket the endpoint closed meanwhile fails the request: tried again, 3 times at most.
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fetch(url, init);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return await r.json();
    } catch (err) {
      if (attempt >= 3 || !(err instanceof TypeError)) throw err;
    }
  }
}
const post = (url, body) =>
  json(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A directory made fresh (0700, empty) before every run, untimed: a job's own run directory. */
function fresh(dir, files = []) {
  return () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of files) writeFileSync(join(dir, f), '');
  };
}

const SHA = '0123456789abcdef0123456789abcdef01234567';
// GitLab: what every job has, and what the templates set (SHIPLINE_STEP, a fresh run dir).
let jobs = 0;
function gitlabJob(step, extra = {}) {
  const id = ++jobs;
  const runDir = join(work, 'runs', `shipline-${1000 + id}`);
  return {
    env: {
      ...base,
      GITLAB_CI: 'true',
      CI_JOB_ID: String(1000 + id),
      CI_PROJECT_DIR: checkout,
      CI_PROJECT_PATH: 'team/app',
      CI_COMMIT_SHA: SHA,
      CI_COMMIT_BRANCH: 'main',
      CI_COMMIT_REF_NAME: 'main',
      CI_DEFAULT_BRANCH: 'main',
      CI_COMMIT_TIMESTAMP: '2026-11-20T10:00:00Z',
      CI_PIPELINE_SOURCE: 'push',
      SHIPLINE_STEP: step,
      SHIPLINE_RUN_DIR: runDir,
      ...extra,
    },
    before: fresh(runDir),
  };
}
// GitHub: the runner's variables and files (a fresh RUNNER_TEMP each run, as for each job).
function githubJob(inputs, extra = {}) {
  const id = ++jobs;
  const temp = join(work, 'runs', `runner-temp-${id}`);
  // The push event's payload, as the runner writes it (the commit's time comes from it).
  const event = join(work, `github-event-${id}.json`);
  writeFileSync(
    event,
    JSON.stringify({
      ref: 'refs/heads/main',
      after: SHA,
      repository: { full_name: 'team/app', default_branch: 'main', html_url: 'https://github.com/team/app' },
      head_commit: { id: SHA, timestamp: '2026-11-20T10:00:00Z', message: 'bench' },
    }),
  );
  const env = {
    ...base,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: checkout,
    GITHUB_REPOSITORY: 'team/app',
    GITHUB_SHA: SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: event,
    RUNNER_TEMP: temp,
    GITHUB_OUTPUT: join(temp, 'output'),
    GITHUB_ENV: join(temp, 'env'),
    GITHUB_STATE: join(temp, 'state'),
    GITHUB_STEP_SUMMARY: join(temp, 'summary'),
    ...extra,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return { env, before: fresh(temp, ['output', 'env', 'state', 'summary']) };
}

/** Every case once per dist (now, and --before). */
const cases = [{ name: "node -e ''", kind: 'base', args: ['-e', ''], env: base, code: 0 }];
function add(c) {
  for (const [label, dir] of dists) {
    const bundle = join(dir, c.step, 'index.js');
    if (!existsSync(bundle)) continue;
    cases.push({ ...c, name: `${c.name}${label}`, args: [bundle, ...(c.args ?? [])] });
  }
}
for (const [step, args] of Object.entries(FAIL_FAST))
  add({ name: `${step} fail-fast`, kind: 'fail-fast', step, args, env: base, code: 2 });

add({
  name: 'image-tags happy path (GitLab push to main)',
  kind: 'happy',
  step: 'image-tags',
  args: ['--images', 'registry.example.com/team/app'],
  ...gitlabJob('image-tags'),
  code: 0,
  requests: [],
});

const tb = benchEnv();
if (tb) {
  // Roles and an ECR path of this run alone, so the request logs count only our requests.
  const id = `${process.pid}-${Date.now().toString(36)}`;
  const roles = [];
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
    ttlSeconds: 3 * 3600,
  });
  const ecrPath = `/bench-${id}`;
  const aws = {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: tb.TB_AWS_REGION,
    AWS_ENDPOINT_URL_STS: tb.TB_STS_URL,
    AWS_ENDPOINT_URL_ECR: `${tb.TB_ECR_URL}${ecrPath}`,
  };
  const [oidcRole, keyRole] = roles;
  add({
    name: 'assume-role GitLab OIDC (1 STS call)',
    kind: 'happy',
    step: 'assume-role',
    ...gitlabJob('assume-role', {
      ...aws,
      AWS_ID_TOKEN: token,
      SHIPLINE_INPUT_ROLE_ARN: oidcRole,
      SHIPLINE_INPUT_WEB_IDENTITY_TOKEN_VARIABLE: 'AWS_ID_TOKEN',
    }),
    code: 0,
    requests: [{ url: tb.TB_STS_URL, role: oidcRole, action: 'AssumeRoleWithWebIdentity' }],
  });
  // Not a step: the same request by hand (bench/lib/sts-floor.cjs), the floor of the case above.
  cases.push({
    name: 'floor: 1 STS call by hand, node:http (not a step)',
    kind: 'reference',
    args: [join(root, 'bench/lib/sts-floor.cjs')],
    ...gitlabJob('assume-role', { ...aws, AWS_ID_TOKEN: token, SHIPLINE_INPUT_ROLE_ARN: oidcRole }),
    code: 0,
    requests: [{ url: tb.TB_STS_URL, role: oidcRole, action: 'AssumeRoleWithWebIdentity' }],
  });
  add({
    name: 'assume-role GitHub OIDC (token + 1 STS call)',
    kind: 'happy',
    step: 'assume-role',
    ...githubJob(
      { 'role-arn': oidcRole },
      {
        ...aws,
        ACTIONS_ID_TOKEN_REQUEST_URL: tb.TB_GITHUB_ID_TOKEN_URL,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: tb.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
      },
    ),
    code: 0,
    requests: [{ url: tb.TB_STS_URL, role: oidcRole, action: 'AssumeRoleWithWebIdentity' }],
  });
  add({
    name: 'assume-role static keys (1 signed AssumeRole)',
    kind: 'happy',
    step: 'assume-role',
    args: ['--export', 'none'],
    ...gitlabJob('assume-role', {
      ...aws,
      SHIPLINE_INPUT_ROLE_ARN: keyRole,
      SHIPLINE_INPUT_AWS_ACCESS_KEY_ID: tb.TB_AWS_ACCESS_KEY_ID,
      SHIPLINE_INPUT_AWS_SECRET_ACCESS_KEY: tb.TB_AWS_SECRET_ACCESS_KEY,
    }),
    code: 0,
    requests: [{ url: tb.TB_STS_URL, role: keyRole, action: 'AssumeRole' }],
  });
  add({
    name: 'ecr-login static keys (1 GetAuthorizationToken)',
    kind: 'happy',
    step: 'ecr-login',
    ...gitlabJob('ecr-login', {
      ...aws,
      AWS_ACCESS_KEY_ID: tb.TB_AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: tb.TB_AWS_SECRET_ACCESS_KEY,
      DOCKER_CONFIG: join(work, 'docker'),
      SHIPLINE_INPUT_LOGOUT: 'false',
    }),
    code: 0,
    requests: [{ url: tb.TB_ECR_URL, path: ecrPath, action: 'GetAuthorizationToken' }],
  });
} else {
  console.log('bench not up (scripts/testbed up): fail-fast cases and image-tags only');
}

/** The last sequence number an endpoint's request log holds (one whole read, at the start). */
async function lastSeq(url) {
  const { requests } = await json(`${url}/__control/requests`);
  return requests.reduce((m, r) => Math.max(m, r.seq), 0);
}
// Per endpoint, the last sequence seen: each run then reads only the log entries after it.
const seen = new Map();
/** Requests logged for `q` since the last look: ours, by action and by role or by path. */
async function count(q) {
  if (!seen.has(q.url)) seen.set(q.url, await lastSeq(q.url));
  const { requests } = await json(`${q.url}/__control/requests?since=${seen.get(q.url)}`);
  seen.set(
    q.url,
    requests.reduce((m, r) => Math.max(m, r.seq), seen.get(q.url)),
  );
  return requests.filter(
    (r) =>
      r.action === q.action &&
      (!q.role || r.details?.role === q.role) &&
      (!q.path || r.path === q.path || r.path.startsWith(`${q.path}/`)),
  ).length;
}

if (values.only) {
  const keep = new RegExp(values.only);
  cases.splice(1, cases.length, ...cases.slice(1).filter((c) => keep.test(c.name)));
}

const version = (bin) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
const nodes = [process.execPath, ...(tb?.TB_NODE24 && existsSync(tb.TB_NODE24) ? [tb.TB_NODE24] : [])].filter(
  (bin) => !values['only-node'] || version(bin).startsWith(`v${values['only-node']}.`),
);
const nodeArgs = values['node-args'].split(' ').filter(Boolean);
if (nodeArgs.length) for (const c of cases.slice(1)) c.args = [...nodeArgs, ...c.args];
if (values.show) {
  for (const bin of nodes)
    for (const c of cases.slice(1)) {
      c.before?.();
      const env = values.coverage ? { ...c.env, NODE_V8_COVERAGE: resolve(values.coverage) } : c.env;
      const r = spawnSync(bin, c.args, { env, cwd: work, encoding: 'utf8' });
      console.log(`\n${c.name} on node ${version(bin)}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    }
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
if (values.profile) {
  for (const bin of nodes) {
    for (const c of cases.slice(1)) {
      const dir = join(resolve(values.profile), `${version(bin)}-${c.name.replace(/[^a-z0-9]+/gi, '-')}`);
      rmSync(dir, { recursive: true, force: true });
      for (let i = 0; i < runs; i++) {
        c.before?.();
        timeCase(
          bin,
          { ...c, args: ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, ...c.args] },
          work,
        );
      }
      console.log(`\n${c.name} on node ${version(bin)}, ${runs} profiled runs (${dir})`);
      console.log(summarizeProfiles(dir, { root }));
    }
  }
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

const verdicts = [];
for (const bin of nodes) {
  for (const c of cases) {
    c.before?.();
    timeCase(bin, c, work); // warm the page cache
  }
  const samples = cases.map(() => []);
  const cpu = cases.map(() => []);
  const counted = cases.map(() => 0);
  for (let i = 0; i < runs; i++) {
    // A fresh order each round: no case always follows the same other one.
    const order = cases.map((c, j) => [Math.random(), j]).sort((a, b) => a[0] - b[0]);
    for (const [, j] of order) {
      const c = cases[j];
      // What others logged meanwhile is skipped, so only this run's requests are counted after it.
      for (const q of c.requests ?? []) await count(q);
      c.before?.();
      const cpu0 = childCpuMs();
      samples[j].push(timeCase(bin, c, work));
      if (cpu0 !== undefined) cpu[j].push(childCpuMs() - cpu0);
      const got = await Promise.all((c.requests ?? []).map((q) => count(q)));
      counted[j] += got.reduce((a, b) => a + b, 0);
    }
  }
  const bare = median(samples[0]);
  const bareCpu = cpu[0].length ? mean(cpu[0]) : undefined;
  const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
  console.log(`\nnode ${version(bin)}: ${runs} interleaved runs per case, median, env -i (load after: ${load})`);
  console.log(`| case | ms | x node -e '' | cpu ms | x cpu | target (wall; cpu) | requests per run |`);
  console.log(`|---|---|---|---|---|---|---|`);
  cases.forEach((c, j) => {
    const ms = median(samples[j]);
    const ratio = ms / bare;
    const cpuMs = bareCpu === undefined ? undefined : mean(cpu[j]);
    const cpuRatio = cpuMs === undefined ? undefined : cpuMs / bareCpu;
    const target = c.kind === 'fail-fast' ? 1.2 : c.kind === 'happy' ? 2 : undefined;
    const ok =
      target === undefined
        ? ''
        : `${ratio <= target ? `<= ${target} OK` : `> ${target} OVER`}${cpuRatio === undefined ? '' : `; cpu ${cpuRatio <= target ? 'OK' : 'OVER'}`}`;
    const per = c.requests?.length
      ? `${(counted[j] / runs).toFixed(2)} (${c.requests.map((q) => q.action).join(' + ')})`
      : c.kind === 'happy'
        ? '0'
        : '';
    const cpuCols = cpuMs === undefined ? '- | -' : `${cpuMs.toFixed(1)} | ${cpuRatio.toFixed(2)}x`;
    console.log(`| ${c.name} | ${ms.toFixed(1)} | ${ratio.toFixed(2)}x | ${cpuCols} | ${ok} | ${per} |`);
    if (target !== undefined && !c.name.endsWith(' (before)'))
      verdicts.push({ node: version(bin), name: c.name, ratio, cpuRatio, target });
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

// Bundle sizes: every file of every step, now and in --before's dist/ (or HEAD's committed one).
const gitSize = (rel) => {
  const r = spawnSync('git', ['-C', root, 'cat-file', '-s', `HEAD:${rel}`], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
};
const fileSize = (p) => (existsSync(p) ? statSync(p).size : undefined);
const FILES = ['index.js', 'main.js', 'lazy.js', 'aws-sdk.js'];
const then = (step, f) =>
  values.before ? fileSize(join(resolve(values.before), step, f)) : gitSize(`dist/${step}/${f}`);
const cell = (a, b) => (a === undefined && b === undefined ? '' : `${a ?? '-'} (${b ?? '-'})`);
const sum = (xs) => xs.reduce((t, x) => t + (x ?? 0), 0);
console.log(
  `\nBundle bytes, now (${values.before ? '--before' : 'HEAD'}): a bad input compiles index.js alone; a run compiles main.js after it,` +
    ` lazy.js where it needs it (assume-role's AssumeRole, retag's and untag's ECR API), aws-sdk.js only for the SDK's credential chain`,
);
console.log(`| step | ${FILES.join(' | ')} | all |`);
console.log(`|---|${FILES.map(() => '---|').join('')}---|`);
for (const step of Object.keys(FAIL_FAST).sort()) {
  const now = FILES.map((f) => fileSize(join(root, 'dist', step, f)));
  const prev = FILES.map((f) => then(step, f));
  console.log(`| ${step} | ${FILES.map((_, i) => cell(now[i], prev[i])).join(' | ')} | ${cell(sum(now), sum(prev))} |`);
}
const over = verdicts.filter((v) => v.ratio > v.target);
console.log(
  over.length
    ? `\nOVER target (wall): ${over.map((v) => `${v.name} on ${v.node} ${v.ratio.toFixed(2)}x > ${v.target}x`).join('; ')}`
    : '\nevery case within its target (wall)',
);
const overCpu = verdicts.filter((v) => v.cpuRatio !== undefined && v.cpuRatio > v.target);
console.log(
  overCpu.length
    ? `OVER target (cpu): ${overCpu.map((v) => `${v.name} on ${v.node} ${v.cpuRatio.toFixed(2)}x > ${v.target}x`).join('; ')}`
    : 'every case within its target (cpu)',
);
rmSync(work, { recursive: true, force: true });
