#!/usr/bin/env node
// Start-up and overhead of assume-role and ecr-login as ratios to bare `node -e ''`, all
// measured in this run under `env -i PATH HOME` (NODE_EXTRA_CA_CERTS would add ~60 ms to
// every start; see TESTBED), interleaved, median of many repetitions:
//   - fail-fast: a bad input (assume-role without role-arn, ecr-login without region);
//     DESIGN §7 target <= 1.3x;
//   - happy path: the whole step against the bench's loopback STS/ECR (one OIDC STS call /
//     one GetAuthorizationToken), DESIGN §7 target <= 2x, compared with the anchors there:
//     configure-aws-credentials 186 ms and amazon-ecr-login 216 ms vs 39 ms bare node
//     (4.8x / 5.5x);
//   - bundle sizes (<= 1 MB with AWS).
// Usage: node bench/aws-steps.mjs [repetitions]   (build first: node scripts/build.mjs assume-role ecr-login)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = resolve(import.meta.dirname, '..');
const reps = Number(process.argv[2] ?? 30);
const node = process.execPath;
const bundle = (step) => join(root, 'dist', step, 'index.js');
for (const s of ['assume-role', 'ecr-login'])
  if (!existsSync(bundle(s))) throw new Error(`${bundle(s)} missing: run node scripts/build.mjs assume-role ecr-login`);

const work = mkdtempSync(join(tmpdir(), 'shipline-bench-aws-'));
const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work };

function benchEnv() {
  if (process.env.TB_STS_URL) return process.env;
  const r = spawnSync('bash', [join(root, 'scripts', 'testbed'), 'env'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const env = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/'\\''/g, "'");
  }
  return env;
}

function time(bin, args, env, expectCode) {
  const t0 = performance.now();
  const r = spawnSync(bin, args, { env, cwd: work, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== expectCode)
    throw new Error(`${args.join(' ')} exited ${r.status}, expected ${expectCode}:\n${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function post(url, body) {
  const r = await globalThis.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

const cases = [
  { name: 'node -e ""', args: ['-e', ''], env: base, code: 0 },
  { name: 'assume-role fail-fast (no role-arn)', args: [bundle('assume-role')], env: base, code: 2 },
  { name: 'ecr-login fail-fast (no region)', args: [bundle('ecr-login')], env: base, code: 2 },
];
// Control: the smallest step's fail-fast, i.e. the shared runtime's own floor.
if (existsSync(bundle('image-tags')))
  cases.push({
    name: 'control: image-tags fail-fast (bad input)',
    args: [bundle('image-tags'), '--sha-length', 'x'],
    env: base,
    code: 2,
  });

const tb = benchEnv();
let stsBefore;
if (tb?.TB_STS_URL) {
  const { token } = await post(`${tb.TB_OIDC_URL}/__mint`, { flavor: 'gitlab', ttlSeconds: 3600 });
  const aws = {
    ...base,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_REGION: tb.TB_AWS_REGION,
    SHIPLINE_ENV_FILE: join(work, 'env'),
    SHIPLINE_OUTPUT_FILE: join(work, 'out.env'),
    SHIPLINE_STATE_DIR: join(work, 'state'),
  };
  cases.push({
    name: 'assume-role happy path (OIDC, 1 STS call)',
    args: [bundle('assume-role')],
    env: {
      ...aws,
      AWS_ENDPOINT_URL_STS: tb.TB_STS_URL,
      AWS_ID_TOKEN: token,
      SHIPLINE_INPUT_ROLE_ARN: tb.TB_STS_ROLE_ARN,
      SHIPLINE_INPUT_WEB_IDENTITY_TOKEN_VARIABLE: 'AWS_ID_TOKEN',
    },
    code: 0,
  });
  cases.push({
    name: 'assume-role GitHub OIDC (token + 1 STS call)',
    args: [bundle('assume-role')],
    env: {
      ...aws,
      AWS_ENDPOINT_URL_STS: tb.TB_STS_URL,
      ACTIONS_ID_TOKEN_REQUEST_URL: tb.TB_GITHUB_ID_TOKEN_URL,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: tb.TB_GITHUB_ID_TOKEN_REQUEST_TOKEN,
      SHIPLINE_INPUT_ROLE_ARN: tb.TB_STS_ROLE_ARN,
    },
    code: 0,
  });
  cases.push({
    name: 'ecr-login happy path (1 GetAuthorizationToken)',
    args: [bundle('ecr-login')],
    env: {
      ...aws,
      AWS_ENDPOINT_URL_ECR: tb.TB_ECR_URL,
      AWS_ACCESS_KEY_ID: tb.TB_AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: tb.TB_AWS_SECRET_ACCESS_KEY,
      DOCKER_CONFIG: join(work, 'docker'),
      SHIPLINE_INPUT_LOGOUT: 'false',
    },
    code: 0,
  });
  const r = await globalThis.fetch(`${tb.TB_STS_URL}/__control/counts`);
  stsBefore = (await r.json()).counts.AssumeRoleWithWebIdentity ?? 0;
} else {
  console.log('bench not up (scripts/testbed up): measuring fail-fast only');
}

// GitHub runs actions on Node 24: measure there too when the bench installed it.
const nodes = [node, ...(tb?.TB_NODE24 && existsSync(tb.TB_NODE24) ? [tb.TB_NODE24] : [])];
const version = (bin) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
const ratios = [];
for (const bin of nodes) {
  // Warm the page cache once, then interleave so drift hits every case alike.
  for (const c of cases) time(bin, c.args, c.env, c.code);
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let i = 0; i < reps; i++) {
    // A fresh order each round: no case always runs right after another.
    const order = cases
      .map((c) => [Math.random(), c])
      .sort((a, b) => a[0] - b[0])
      .map(([, c]) => c);
    for (const c of order) samples.get(c.name).push(time(bin, c.args, c.env, c.code));
  }
  const bare = median(samples.get('node -e ""'));
  console.log(`\nnode ${version(bin)}: ${reps} repetitions each, median, env -i PATH HOME`);
  for (const c of cases) {
    const m = median(samples.get(c.name));
    console.log(`  ${c.name.padEnd(48)} ${m.toFixed(1).padStart(7)} ms  ${(m / bare).toFixed(2)}x node`);
  }
  const ratio = (name) => median(samples.get(name)) / bare;
  const ff = Math.max(ratio('assume-role fail-fast (no role-arn)'), ratio('ecr-login fail-fast (no region)'));
  console.log(`  fail-fast: ${ff.toFixed(2)}x node (target <= 1.3x) ${ff <= 1.3 ? 'OK' : 'OVER'}`);
  if (tb?.TB_STS_URL) {
    const ar = ratio('assume-role happy path (OIDC, 1 STS call)');
    const ecr = ratio('ecr-login happy path (1 GetAuthorizationToken)');
    console.log(
      `  assume-role happy path: ${ar.toFixed(2)}x node vs configure-aws-credentials 186/39 = ${(186 / 39).toFixed(1)}x (DESIGN §7 anchor)`,
    );
    console.log(
      `  ecr-login happy path:   ${ecr.toFixed(2)}x node vs amazon-ecr-login 216/39 = ${(216 / 39).toFixed(1)}x (DESIGN §7 anchor)`,
    );
  }
  ratios.push(ff);
}
if (tb?.TB_STS_URL) {
  console.log(
    '(happy paths include the loopback round trip; assume-role on OIDC loads no SDK, ecr-login loads the SDK for SigV4 + the credential chain)',
  );
  const r = await globalThis.fetch(`${tb.TB_STS_URL}/__control/counts`);
  const calls = ((await r.json()).counts.AssumeRoleWithWebIdentity ?? 0) - stsBefore;
  console.log(
    `STS AssumeRoleWithWebIdentity calls during the run: ${calls} for ${nodes.length * 2 * (reps + 1)} OIDC assume-role runs (other bench users may add some)`,
  );
}
for (const s of ['assume-role', 'ecr-login']) {
  // index.js (inputs, runtime) + lazy.js (the AWS SDK, loaded after inputs validate)
  const main = statSync(bundle(s)).size / 1024;
  const lazy = statSync(join(root, 'dist', s, 'lazy.js')).size / 1024;
  const kb = main + lazy;
  console.log(
    `bundle dist/${s}: index.js ${main.toFixed(0)} KB + lazy.js ${lazy.toFixed(0)} KB = ${kb.toFixed(0)} KB (<= 1024 KB) ${kb <= 1024 ? 'OK' : 'OVER'}`,
  );
}
rmSync(work, { recursive: true, force: true });
