// build-push: a cold build (nothing cached) against a second build of the unchanged
// context on a "fresh runner" (the local images removed) that gets its layers through
// cache-from (the default: the pipeline's tags, then latest, pulled from the registry);
// plus fail-fast (a bad target) against bare node. Ratios are measured in the same run.
// Needs the bench: bash scripts/testbed up.
// Usage: node bench/build-push.mjs [pairs=3] [failfast-runs=40]
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './lib/measure.mjs';

const root = resolve(import.meta.dirname, '..');
const pairs = Number(process.argv[2] ?? 3);
const ffRuns = Number(process.argv[3] ?? 40);
const bundle = join(root, 'dist/build-push/index.js');

const tb = {};
for (const line of execFileSync('bash', [join(root, 'scripts/testbed'), 'env'], { encoding: 'utf8' }).split('\n')) {
  const m = /^export (TB_[A-Z0-9_]+)='(.*)'$/.exec(line.trim());
  if (m) tb[m[1]] = m[2];
}
if (!tb.TB_REGISTRY_OPEN || !tb.TB_BASE_IMAGE) throw new Error('the bench is not up: bash scripts/testbed up');

// Timed under env -i (TESTBED: NODE_EXTRA_CA_CERTS would inflate every node start).
const baseEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
};
const gitlabEnv = (ws, extra) => ({
  ...baseEnv,
  GITLAB_CI: 'true',
  CI_PROJECT_DIR: ws,
  CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
  CI_DEFAULT_BRANCH: 'main',
  CI_JOB_ID: '1',
  ...extra,
});

function timed(args, env, cwd, want = 0) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== want) throw new Error(`exit ${r.status} (wanted ${want}):\n${r.stdout}\n${r.stderr}`);
  return { ms, out: r.stdout, err: r.stderr };
}
const meta = (out) => JSON.parse(/^metadata=(.*)$/m.exec(out)[1]);

// Real work per step (a few MB written, files hashed), unique per pair so nothing else's cache serves it.
const dockerfile = (id) => `ARG BASE_IMAGE
FROM \${BASE_IMAGE} AS base
LABEL shipline.bench=${id}
WORKDIR /src
COPY deps.txt index.txt ./
RUN dd if=/dev/urandom of=/src/blob1 bs=1M count=24 2>/dev/null && sha256sum blob1 > blob1.sha
RUN dd if=/dev/urandom of=/src/blob2 bs=1M count=24 2>/dev/null && sha256sum blob2 > blob2.sha
RUN i=0; while [ $i -lt 3000 ]; do echo "line $i" >> /src/gen.txt; i=$((i+1)); done
COPY app.sh ./
CMD ["sh", "/src/app.sh"]
`;

const cold = [];
const warm = [];
const stats = [];
for (let p = 0; p < pairs; p++) {
  const id = `bench-bp-${randomBytes(4).toString('hex')}`;
  const image = `${tb.TB_REGISTRY_OPEN}/${id}/app`;
  const ws = mkdtempSync(join(tmpdir(), 'bp-bench-'));
  cpSync(join(root, 'examples/app'), ws, { recursive: true });
  writeFileSync(join(ws, 'Dockerfile'), dockerfile(id));
  const inputs = { SHIPLINE_INPUT_IMAGES: image, SHIPLINE_INPUT_BUILD_ARGS: `BASE_IMAGE=${tb.TB_BASE_IMAGE}` };
  try {
    const a = timed([bundle], gitlabEnv(ws, { ...inputs, CI_COMMIT_BRANCH: 'main', CI_PIPELINE_SOURCE: 'push' }), ws);
    // a fresh runner: this image's local tags (and with them its layer chain) are gone
    const refs = execFileSync('docker', ['images', image, '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    execFileSync('docker', ['image', 'rm', ...refs], { stdio: 'ignore' });
    const b = timed(
      [bundle],
      gitlabEnv(ws, { ...inputs, CI_MERGE_REQUEST_IID: '7', CI_PIPELINE_SOURCE: 'merge_request_event' }),
      ws,
    );
    cold.push(a.ms);
    warm.push(b.ms);
    stats.push({ cold: meta(a.out).cache, warm: meta(b.out).cache });
  } finally {
    spawnSync('docker', ['image', 'rm', `${image}:MR-7`], { stdio: 'ignore' });
    rmSync(ws, { recursive: true, force: true });
  }
}

// Fail-fast: an unknown target, against bare node.
const ws = mkdtempSync(join(tmpdir(), 'bp-bench-ff-'));
cpSync(join(root, 'examples/app'), ws, { recursive: true });
const bare = [];
const ff = [];
for (let i = 0; i < ffRuns; i++) {
  bare.push(timed(['-e', ''], baseEnv, ws).ms);
  ff.push(
    timed(
      [bundle],
      gitlabEnv(ws, {
        SHIPLINE_INPUT_IMAGES: 'registry.example.com/a',
        SHIPLINE_INPUT_TARGET: 'nope',
        CI_COMMIT_BRANCH: 'main',
      }),
      ws,
      2,
    ).ms,
  );
}
rmSync(ws, { recursive: true, force: true });

const c = median(cold);
const w = median(warm);
console.log(
  `build-push, classic builder (engine ${execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim()}), ${pairs} pairs, median`,
);
console.log(`cold build + push (nothing cached)            ${c.toFixed(0).padStart(7)} ms  1.00x`);
console.log(
  `second build, cache-from pulled, + push       ${w.toFixed(0).padStart(7)} ms  ${(w / c).toFixed(2)}x of cold`,
);
console.log(
  `cache steps (cached/steps) cold: ${stats.map((s) => `${s.cold.cached}/${s.cold.steps}`).join(' ')}; second: ${stats.map((s) => `${s.warm.cached}/${s.warm.steps}`).join(' ')}`,
);
const nb = median(bare);
const nf = median(ff);
console.log(`node -e ''                                    ${nb.toFixed(1).padStart(7)} ms  1.00x   (${ffRuns} runs)`);
console.log(
  `fail-fast (unknown target, exit 2)            ${nf.toFixed(1).padStart(7)} ms  ${(nf / nb).toFixed(2)}x of node`,
);
