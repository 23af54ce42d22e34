#!/usr/bin/env node
// Seed A's question, measured: "how much time is saved by re-using images between pipeline
// steps?" K jobs that need the app's dependencies (python3, make, pyflakes3, zip from Debian,
// examples/seed-a/app/Dockerfile) each run the app's own work (`make test lint package` on a
// fresh copy of examples/seed-a/app), two ways, in the same run, interleaved job by job:
//
//   reuse      the pipeline builds the app image once (counted: `docker build --no-cache`),
//              every job runs in it;
//   reinstall  (the baseline) every job starts from the Debian base and installs the packages
//              (`apt-get update && apt-get install ...`, the Dockerfile's own line) first.
//
// on two engines:
//
//   warm   the bench's docker engine, the base image cached (a long-lived runner);
//   fresh  a new docker engine per job with an empty data root (an ephemeral runner, dind):
//          the build job pulls the base from the bench registry, builds and pushes the image;
//          a reuse job pulls that image, a reinstall job pulls the base, then installs.
//          Starting the engine itself is not counted (the same for both ways).
//
// Every job's wall time is split into pull, install, work (timed inside the container) and
// container start/stop (the rest). Prints the Markdown table on stdout, writes it to --md
// and the chart to --svg. Bounded: every command has a time limit and the whole run
// --timeout seconds; whatever it made (containers, images, engines, registry tags, temp
// dirs) is removed on exit, also on failure and on SIGINT/SIGTERM.
//
// Usage: node bench/reuse.mjs [--k 3] [--runs 1] [--engines warm,fresh]
//          [--md bench/reuse.latest.md] [--svg docs/reuse.svg] [--timeout S] [--json FILE]
//        node bench/reuse.mjs --render FILE   (the table and chart again from a --json FILE)
//        (`bash scripts/testbed up` first; makes local/debian:bookworm with
//        `scripts/job-image base` when it is missing)
/* global fetch, AbortSignal */
import { spawn, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import chart from './lib/chart.cjs';

const root = resolve(import.meta.dirname, '..');
const { values: opt } = parseArgs({
  options: {
    k: { type: 'string', default: '3' },
    runs: { type: 'string', default: '1' },
    engines: { type: 'string', default: 'warm,fresh' },
    md: { type: 'string', default: join(root, 'bench/reuse.latest.md') },
    svg: { type: 'string', default: join(root, 'docs/reuse.svg') },
    base: { type: 'string', default: 'local/debian:bookworm' },
    timeout: { type: 'string' }, // default: 300 s + 240 s per job and run
    json: { type: 'string' },
    render: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 30)
      .join('\n')
      .replace(/^\/\/ ?/gm, ''),
  );
  process.exit(0);
}
/** The answer: the Markdown table on stdout and in --md, the chart in --svg. */
function writeOutputs(measurement) {
  const md = chart.reuseMarkdown(measurement);
  const svg = chart.reuseChart(measurement);
  for (const [file, text] of [
    [opt.md, md],
    [opt.svg, svg],
  ]) {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, text);
  }
  process.stdout.write(md);
  const rel = (f) => relative(process.cwd(), resolve(f)) || f;
  process.stderr.write(`[reuse] wrote ${rel(opt.md)} and ${rel(opt.svg)}\n`);
}
if (opt.render) {
  writeOutputs(JSON.parse(readFileSync(opt.render, 'utf8')));
  process.exit(0);
}

const int = (name, v, lo, hi) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    console.error(`reuse: --${name} must be an integer from ${lo} to ${hi} (got '${v}')`);
    process.exit(2);
  }
  return n;
};
const K = int('k', opt.k, 1, 20);
const RUNS = int('runs', opt.runs, 1, 10);
const TIMEOUT_S = int('timeout', opt.timeout ?? String(Math.min(3600, 300 + 240 * K * RUNS)), 30, 3600);
const ENGINES = opt.engines.split(',').map((e) => e.trim());
if (ENGINES.length === 0 || ENGINES.some((e) => e !== 'warm' && e !== 'fresh')) {
  console.error(`reuse: --engines takes warm, fresh or warm,fresh (got '${opt.engines}')`);
  process.exit(2);
}

const APP = join(root, 'examples/seed-a/app');
const PACKAGES = ['python3', 'make', 'pyflakes3', 'zip'];
const JOB = 'make test lint package';
const INSTALL =
  'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ' +
  `${PACKAGES.join(' ')} >/dev/null && rm -rf /var/lib/apt/lists/*`;
{
  const dockerfile = readFileSync(join(APP, 'Dockerfile'), 'utf8');
  const missing = PACKAGES.filter((p) => !new RegExp(`\\b${p}\\b`).test(dockerfile));
  if (missing.length)
    throw new Error(`examples/seed-a/app/Dockerfile no longer installs ${missing.join(', ')}: update PACKAGES`);
}

const deadline = Date.now() + TIMEOUT_S * 1000;
// SHIPLINE_DEMO_ID names this run's containers, registry repository and temp dir (tests check them after)
const id = /^[a-z0-9]{1,12}$/.test(process.env.SHIPLINE_DEMO_ID ?? '')
  ? process.env.SHIPLINE_DEMO_ID
  : randomBytes(3).toString('hex');
const work = mkdtempSync(join(tmpdir(), `shipline-reuse-${id}-`));
const made = { containers: new Set(), images: new Set(), engines: new Set(), manifests: [] };
const log = (msg) => process.stderr.write(`[reuse] ${msg}\n`);
const secs = (ms) => ms / 1000;

/** Runs a command (no shell) bounded by its own limit and the run's deadline. */
function sh(cmd, args, { env = process.env, limitS = 600, cwd = root } = {}) {
  const left = deadline - Date.now();
  if (left <= 0) return Promise.reject(new Error(`the run's --timeout of ${TIMEOUT_S} s is over`));
  const ms = Math.min(limitS * 1000, left);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise({ stdout, stderr });
      const why = signal ? `killed (${signal}) after ${Math.round(ms / 1000)} s` : `exit ${code}`;
      reject(
        new Error(`${cmd} ${args.join(' ')}: ${why}\n${(stderr || stdout).trim().split('\n').slice(-15).join('\n')}`),
      );
    });
  });
}

/** An engine: the bench's (warm) or a fresh one; docker(args) runs the CLI against it. */
const engineEnv = (host) => ({ ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' });
const engine = (host) => ({
  host,
  docker: (args, o = {}) => sh('docker', args, { env: engineEnv(host), ...o }),
});
const timed = async (fn) => {
  const t0 = performance.now();
  const r = await fn();
  return [secs(performance.now() - t0), r];
};

function benchEnv() {
  const out = execFileSync('bash', [join(root, 'scripts/testbed'), 'env'], { encoding: 'utf8' });
  const env = {};
  for (const m of out.matchAll(/^export ([A-Z0-9_]+)='(.*)'$/gm)) env[m[1]] = m[2];
  return env;
}

// ------------------------------------------------------------------ fresh engines
let engineCount = 0;
let driver = 'overlay2';

async function startEngine() {
  const n = ++engineCount;
  const dir = join(work, `engine-${n}`);
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
  const child = spawn(
    'dockerd',
    [
      `--storage-driver=${driver}`,
      '--iptables=false',
      '--bridge=none',
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      `unix://${sock}`,
    ],
    { detached: true, stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const e = { ...engine(`unix://${sock}`), dir, child, exited: false };
  child.on('exit', () => (e.exited = true));
  made.engines.add(e);
  for (let i = 0; i < 150; i++) {
    if (e.exited) break;
    try {
      await e.docker(['version', '--format', '{{.Server.Version}}'], { limitS: 5 });
      return e;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const tail = readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-10).join('\n');
  throw new Error(`a fresh docker engine did not answer within 30 s:\n${tail}`);
}

async function stopEngine(e) {
  if (!e.exited && e.child.pid) {
    try {
      process.kill(e.child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    for (let i = 0; i < 200 && !e.exited; i++) await new Promise((r) => setTimeout(r, 100));
    if (!e.exited) {
      try {
        process.kill(e.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 50 && !e.exited; i++) await new Promise((r) => setTimeout(r, 100));
    }
  }
  // a killed daemon can leave mounts (overlay, netns, shm) under its directory
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && m.startsWith(e.dir + '/'))
    .sort()
    .reverse();
  for (const m of mounts) await sh('umount', ['-l', m], { limitS: 10 }).catch(() => {});
  rmSync(e.dir, { recursive: true, force: true });
  made.engines.delete(e);
}

// ------------------------------------------------------------------ jobs
let jobCount = 0;

/**
 * One job: a fresh copy of the app (the job's checkout, not timed), then one container of
 * `image` running [install] + the app's work. Returns { install?, work, start } in seconds.
 */
async function runJob(e, image, { install }) {
  const n = ++jobCount;
  const dir = join(work, `job-${n}`);
  cpSync(APP, dir, { recursive: true });
  const name = `shipline-reuse-${id}-${n}`;
  const script = [
    'set -e',
    'now() { date +%s%N; }',
    't0=$(now)',
    install ? INSTALL : ':',
    't1=$(now)',
    `${JOB} >/tmp/job.log 2>&1 || { cat /tmp/job.log; exit 1; }`,
    't2=$(now)',
    'echo "@@phases $t0 $t1 $t2"',
  ].join('\n');
  made.containers.add({ e, name });
  const [wall, r] = await timed(() =>
    e.docker(
      [
        'run',
        '--rm',
        '--name',
        name,
        '--network',
        'host',
        '-v',
        `${dir}:/src`,
        '-w',
        '/src',
        image,
        'sh',
        '-c',
        script,
      ],
      {
        limitS: 600,
      },
    ),
  );
  made.containers.forEach((c) => c.name === name && made.containers.delete(c));
  const m = /@@phases (\d+) (\d+) (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`job ${n}: no phase line in its output:\n${r.stdout}`);
  if (!existsSync(join(dir, 'dist/app.zip'))) throw new Error(`job ${n}: ${JOB} made no dist/app.zip`);
  rmSync(dir, { recursive: true, force: true });
  const ns = (a, b) => Number(BigInt(b) - BigInt(a)) / 1e9;
  const phases = { work: ns(m[2], m[3]) };
  if (install) phases.install = ns(m[1], m[2]);
  phases.start = Math.max(0, wall - phases.work - (phases.install ?? 0));
  return phases;
}

async function build(e, base, tag) {
  made.images.add({ e, ref: tag });
  await e.docker(
    ['build', '--no-cache', '--network', 'host', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-t', tag, APP],
    {
      limitS: 900,
    },
  );
}

async function rmi(e, ref) {
  await e.docker(['image', 'rm', ref], { limitS: 60 }).catch(() => {});
  made.images.forEach((i) => i.e === e && i.ref === ref && made.images.delete(i));
}

const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** Pushes to the bench registry; the manifest is deleted at the end (its repository is this run's own). */
async function push(e, ref) {
  await e.docker(['push', '-q', ref], { limitS: 600 });
  made.manifests.push(ref);
}

async function deleteManifest(ref) {
  const m = /^([^/]+)\/(.+):([^:/]+)$/.exec(ref);
  if (!m) return;
  const url = `http://${m[1]}/v2/${m[2]}/manifests/`;
  const head = await fetch(url + m[3], {
    method: 'HEAD',
    headers: { Accept: ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  const digest = head.headers.get('docker-content-digest');
  if (head.status !== 200 || !digest) return;
  await fetch(url + digest, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
}

// ------------------------------------------------------------------ the two engines
async function warmRun(warm, base, r) {
  const tag = `shipline-reuse-${id}/app:warm-${r}`;
  const [b] = await timed(() => build(warm, base, tag));
  log(`warm  run ${r}: build the app image once ${b.toFixed(1)} s`);
  const reuse = { once: { build: b }, jobs: [] };
  const reinstall = { once: {}, jobs: [] };
  for (let j = 1; j <= K; j++) {
    const ri = await runJob(warm, base, { install: true });
    reinstall.jobs.push(ri);
    const ru = await runJob(warm, tag, { install: false });
    reuse.jobs.push(ru);
    log(`warm  run ${r} job ${j}/${K}: reinstall ${fmtJob(ri)} | reuse ${fmtJob(ru)}`);
  }
  await rmi(warm, tag);
  return { reuse, reinstall };
}

async function freshRun(registryBase, appRepo, r) {
  const tag = `${appRepo}:r${r}`;
  // the build job, on its own fresh engine: pull the base, build, push
  const e0 = await startEngine();
  const [pull] = await timed(() => e0.docker(['pull', '-q', registryBase], { limitS: 300 }));
  const [b] = await timed(() => build(e0, registryBase, tag));
  const [p] = await timed(() => push(e0, tag));
  await stopEngine(e0);
  log(
    `fresh run ${r}: build job on a fresh engine: pull base ${pull.toFixed(1)} s, build ${b.toFixed(1)} s, push ${p.toFixed(1)} s`,
  );
  const reuse = { once: { pull, build: b, push: p }, jobs: [] };
  const reinstall = { once: {}, jobs: [] };
  const freshJob = async (image, install) => {
    const e = await startEngine();
    const [pl] = await timed(() => e.docker(['pull', '-q', image], { limitS: 300 }));
    const phases = await runJob(e, image, { install });
    await stopEngine(e);
    return { pull: pl, ...phases };
  };
  for (let j = 1; j <= K; j++) {
    const ri = await freshJob(registryBase, true);
    reinstall.jobs.push(ri);
    const ru = await freshJob(tag, false);
    reuse.jobs.push(ru);
    log(`fresh run ${r} job ${j}/${K}: reinstall ${fmtJob(ri)} | reuse ${fmtJob(ru)}`);
  }
  return { reuse, reinstall };
}

const fmtJob = (p) =>
  `${Object.values(p)
    .reduce((a, b) => a + b, 0)
    .toFixed(1)} s (${Object.entries(p)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ')})`;

// ------------------------------------------------------------------ cleanup
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    for (const { e, name } of made.containers) await e.docker(['rm', '-f', name], { limitS: 30 }).catch(() => {});
    for (const { e, ref } of [...made.images]) if (!e.dir) await rmi(e, ref);
    for (const e of [...made.engines]) await stopEngine(e).catch(() => {});
    for (const ref of made.manifests) await deleteManifest(ref).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}
// a bug of this script still cleans up
process.on('uncaughtException', (err) => {
  log(`error: ${err.stack || err}`);
  cleanup().finally(() => process.exit(1));
});

// ------------------------------------------------------------------ main
async function main() {
  const tb = benchEnv();
  const reg = tb.TB_REGISTRY_OPEN;
  if (!reg) throw new Error('the bench is not up: run `bash scripts/testbed up`');
  const warm = engine(process.env.DOCKER_HOST || tb.TB_DOCKER_HOST || 'unix:///var/run/docker.sock');
  const base = opt.base;
  if (
    !(await warm.docker(['image', 'inspect', base], { limitS: 30 }).then(
      () => true,
      () => false,
    ))
  ) {
    log(`${base} is missing: scripts/job-image base (mmdebstrap, about a minute)`);
    await sh('bash', [join(root, 'scripts/job-image'), 'base'], { env: engineEnv(warm.host), limitS: 900 });
  }
  const [version, drv] = (
    await warm.docker(['info', '--format', '{{.ServerVersion}} {{.Driver}}'], { limitS: 30 })
  ).stdout
    .trim()
    .split(' ');
  driver = drv === 'overlay2' ? 'overlay2' : 'vfs';
  log(`K=${K} jobs, ${RUNS} run(s), engines: ${ENGINES.join(', ')}; docker ${version} (${drv}); base ${base}`);

  // The base as a registry serves it (Docker Hub's debian:bookworm-slim stands in), in a
  // repository of this run only.
  const repo = `${reg}/shipline-reuse-${id}`;
  const registryBase = `${repo}/debian:bookworm`;
  if (ENGINES.includes('fresh')) {
    await warm.docker(['tag', base, registryBase], { limitS: 30 });
    made.images.add({ e: warm, ref: registryBase });
    await push(warm, registryBase);
    await rmi(warm, registryBase);
  }

  const measurement = {
    k: K,
    runs: RUNS,
    title: `Re-using one image vs reinstalling per job: ${K} job${K === 1 ? '' : 's'} of seed A`,
    subtitle:
      `each job: ${JOB} in examples/seed-a/app, needing ${PACKAGES.join(', ')} from Debian\n` +
      `docker ${version} (${drv}), ${availableParallelism()} cores; K=${K}, ${RUNS} run(s), ${new Date().toISOString().slice(0, 10)}; ` +
      `ratios within one run`,
    engines: {},
  };
  if (ENGINES.includes('warm')) measurement.engines.warm = { label: 'warm engine (base image cached)', runs: [] };
  if (ENGINES.includes('fresh'))
    measurement.engines.fresh = { label: 'fresh engine per job (nothing cached)', runs: [] };
  for (let r = 1; r <= RUNS; r++) {
    if (ENGINES.includes('warm')) measurement.engines.warm.runs.push(await warmRun(warm, base, r));
    if (ENGINES.includes('fresh')) measurement.engines.fresh.runs.push(await freshRun(registryBase, `${repo}/app`, r));
  }
  measurement.note =
    `Measured by \`node bench/reuse.mjs --k ${K} --runs ${RUNS}\` on the bench (\`bash scripts/testbed up\`). ` +
    `reuse counts the image build once per pipeline (\`docker build --no-cache\`; on a fresh engine also pulling the base and pushing the image) ` +
    `and every job's container; reinstall runs \`${INSTALL.replace(' >/dev/null', '')}\` in every job. ` +
    `Fresh engine: a new dockerd with an empty data root per job (its start is not counted); images come from the bench registry on loopback. ` +
    `Jobs alternate reinstall, reuse, so machine noise hits both alike.`;

  if (opt.json) writeFileSync(opt.json, JSON.stringify(measurement, null, 2) + '\n');
  writeOutputs(measurement);
}

let rc = 0;
try {
  await main();
} catch (err) {
  log(`error: ${err.message}`);
  rc = 1;
} finally {
  await cleanup();
}
process.exit(rc);
