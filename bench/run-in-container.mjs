#!/usr/bin/env node
// Benchmarks for run-in-container, as ratios against baselines measured in the same run
// on the bench's docker engine (`bash scripts/testbed up` first):
//
//  1. A pipeline of K jobs that all need the same dependencies (a tarball of D small
//     files standing in for node_modules):
//       baseline  reinstall per job: each job runs the step on the bare base image, copies
//                 the dependency tarball in and extracts it ("npm ci"), then runs its command;
//       reused    the dependencies are baked into an image once (docker build, counted),
//                 each job runs the step on that image and only runs its command.
//  2. C commands in one job: a fresh `docker run --rm` per command (baseline) vs one
//     container and `docker exec` per command (the step's multi-command shape).
//  3. Copy-in of an N-file workspace: the step's streamed tar (`docker cp -`) vs plain
//     `docker cp <dir> <container>:<dest>` of the same directory.
//
// Usage: node bench/run-in-container.mjs [--jobs K] [--deps D] [--files N] [--commands C] [--repeat R]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { median } from './lib/measure.mjs';

const root = resolve(import.meta.dirname, '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const K = arg('jobs', 5);
const D = arg('deps', 2000);
const N = arg('files', 10000);
const C = arg('commands', 5);
const R = arg('repeat', 5);

function benchEnv() {
  const out = execFileSync('bash', [join(root, 'scripts/testbed'), 'env'], { encoding: 'utf8' });
  const env = {};
  for (const m of out.matchAll(/^export ([A-Z0-9_]+)='(.*)'$/gm)) env[m[1]] = m[2];
  return env;
}
const tb = benchEnv();
const base = tb.TB_BASE_IMAGE;
if (!base) throw new Error('the bench is not up: run `bash scripts/testbed up`');

const id = randomBytes(3).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'ric-bench-'));
const created = { containers: new Set(), images: new Set() };
const docker = (...args) => {
  const r = spawnSync('docker', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const now = () => performance.now();
const step = join(root, 'dist/run-in-container/index.js');

/** Runs the step bundle as a CLI job would; returns wall ms. */
function runStep(workspace, jobId, args) {
  const t0 = now();
  const r = spawnSync(process.execPath, [step, '--name', `ric-bench-${jobId}`, ...args], {
    cwd: workspace,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_JOB_ID: jobId,
      SHIPLINE_STATE_DIR: join(workspace, '.shipline', `state-${jobId}`),
    },
  });
  const ms = now() - t0;
  if (r.status !== 0) throw new Error(`step failed (${r.status}): ${r.stderr}`);
  // The step's own summary table: `| phase | seconds |`, summed per phase across jobs.
  const sums = phases[args.some((a) => a.includes('tar -xzf')) ? 'reinstall' : 'reused'];
  for (const m of r.stderr.matchAll(/^\| (.+?) \| ([0-9.]+) \|$/gm)) {
    const phase = m[1].startsWith('`') ? (m[1].includes('tar -xzf') ? 'install' : 'test') : m[1];
    sums[phase] = (sums[phase] ?? 0) + Number(m[2]);
  }
  return ms;
}
const phases = { reinstall: {}, reused: {} };
const phaseLine = (p) =>
  Object.entries(p)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');

function fillTree(dir, count, size) {
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.js`), randomBytes(size / 2).toString('hex'));
  }
}

try {
  if (spawnSync('docker', ['image', 'inspect', base]).status !== 0) docker('pull', base);

  // ---------------------------------------------------------------- 1. K jobs, same deps
  const proj = join(work, 'project');
  mkdirSync(join(proj, 'src'), { recursive: true });
  writeFileSync(join(proj, 'src/test.sh'), 'n=$(find /opt/deps -type f | wc -l); echo "deps: $n"; test "$n" -gt 0\n');
  const depsDir = join(work, 'deps-src');
  fillTree(join(depsDir, 'deps'), D, 2048);
  mkdirSync(join(proj, 'vendor'));
  execFileSync('tar', ['-czf', join(proj, 'vendor/deps.tgz'), '-C', depsDir, 'deps']);
  writeFileSync(join(proj, '.dockerignore'), '.shipline\n');

  let t0 = now();
  for (let j = 0; j < K; j++) {
    runStep(proj, `reinstall-${id}-${j}`, [
      '--image',
      base,
      '--network',
      'none',
      '--run',
      'mkdir -p /opt && tar -xzf vendor/deps.tgz -C /opt',
      '--run',
      'sh src/test.sh',
    ]);
  }
  const reinstall = now() - t0;

  const appImage = `ric-bench-${id}:deps`;
  writeFileSync(join(work, 'Dockerfile'), `FROM ${base}\nCOPY deps-src/deps /opt/deps\n`);
  t0 = now();
  docker('build', '-q', '-t', appImage, '-f', join(work, 'Dockerfile'), work);
  created.images.add(appImage);
  const buildMs = now() - t0;
  // The jobs no longer need the dependency tarball in their workspace.
  writeFileSync(join(proj, '.dockerignore'), '.shipline\nvendor\n');
  t0 = now();
  for (let j = 0; j < K; j++)
    runStep(proj, `reused-${id}-${j}`, ['--image', appImage, '--network', 'none', '--run', 'sh src/test.sh']);
  const reusedJobs = now() - t0;
  const reused = buildMs + reusedJobs;

  // ---------------------------------------------------------------- 2. C commands in one job
  const cmd = ['sh', '-c', 'test -d /opt/deps'];
  t0 = now();
  for (let c = 0; c < C; c++) docker('run', '--rm', '--network', 'none', appImage, ...cmd);
  const freshPerCommand = now() - t0;
  t0 = now();
  const one = `ric-bench-${id}-one`;
  docker('run', '-d', '--name', one, '--network', 'none', '--entrypoint', 'sleep', appImage, 'infinity');
  created.containers.add(one);
  for (let c = 0; c < C; c++) docker('exec', one, ...cmd);
  docker('rm', '--force', one);
  created.containers.delete(one);
  const oneContainer = now() - t0;

  // ---------------------------------------------------------------- 3. copy-in of N files
  const bundleDir = mkdtempSync(join(work, 'bundle-'));
  const bundle = join(bundleDir, 'container.cjs');
  await build({
    entryPoints: [join(root, 'src/lib/docker/container.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'error',
  });
  const { copyIn } = await import(pathToFileURL(bundle).href);
  const { Docker } = await import(
    pathToFileURL(
      await (async () => {
        const f = join(bundleDir, 'docker.cjs');
        await build({
          entryPoints: [join(root, 'src/lib/docker/docker.ts')],
          bundle: true,
          platform: 'node',
          format: 'cjs',
          outfile: f,
          logLevel: 'error',
        });
        return f;
      })(),
    ).href
  );
  const ws = join(work, 'workspace');
  fillTree(ws, N, 512);
  const target = `ric-bench-${id}-copy`;
  docker('run', '-d', '--name', target, '--network', 'none', '--entrypoint', 'sleep', base, 'infinity');
  created.containers.add(target);
  const d = new Docker({ env: process.env });
  const tarMs = [];
  const cpMs = [];
  for (let r = 0; r < R; r++) {
    // alternate the order so neither side always runs on a warmer cache
    const runs = [
      async () => {
        const s = now();
        const { entries } = await copyIn(d, process.env, target, ws, `/tar${r}`);
        tarMs.push(now() - s);
        if (entries < N) throw new Error(`tar copied ${entries} entries, expected >= ${N}`);
      },
      async () => {
        const s = now();
        docker('exec', target, 'mkdir', '-p', `/cp${r}`);
        docker('cp', `${ws}/.`, `${target}:/cp${r}`);
        cpMs.push(now() - s);
      },
    ];
    if (r % 2) runs.reverse();
    for (const f of runs) await f();
  }
  const counted = docker('exec', target, 'sh', '-c', 'find /tar0 -type f | wc -l; find /cp0 -type f | wc -l').split(
    '\n',
  );
  if (counted[0] !== counted[1]) throw new Error(`file counts differ: tar ${counted[0]} vs cp ${counted[1]}`);

  // 3b. The usual workspace: a little source next to a big ignored dependency tree.
  const ws2 = join(work, 'workspace2');
  fillTree(join(ws2, 'src'), 500, 512);
  fillTree(join(ws2, 'node_modules'), N, 512);
  writeFileSync(join(ws2, '.dockerignore'), 'node_modules\n');
  const tar2 = [];
  const cp2 = [];
  for (let r = 0; r < R; r++) {
    let s0 = now();
    await copyIn(d, process.env, target, ws2, `/tarb${r}`);
    tar2.push(now() - s0);
    s0 = now();
    docker('exec', target, 'mkdir', '-p', `/cpb${r}`);
    docker('cp', `${ws2}/.`, `${target}:/cpb${r}`);
    cp2.push(now() - s0);
  }
  rmSync(bundleDir, { recursive: true, force: true });

  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`run-in-container bench (docker ${docker('version', '--format', '{{.Server.Version}}')}, base ${base})`);
  console.log('');
  console.log(`1. pipeline of ${K} jobs needing the same ${D}-file dependency set`);
  console.log(`   reinstall per job (copy tarball in + extract, then test): ${s(reinstall)}`);
  console.log(`   reused image (build once ${s(buildMs)} + ${K} jobs ${s(reusedJobs)}):      ${s(reused)}`);
  console.log(
    `   ratio reused / reinstall: ${(reused / reinstall).toFixed(2)}  (jobs only, without the one build: ${(reusedJobs / reinstall).toFixed(2)})`,
  );
  console.log(`   step phases, s summed over jobs: reinstall: ${phaseLine(phases.reinstall)}`);
  console.log(`                                    reused:    ${phaseLine(phases.reused)}`);
  console.log(
    `   (storage driver ${docker('info', '--format', '{{.Driver}}')}: vfs copies the whole image at every container start, so 'start' grows with the image; overlay2 does not)`,
  );
  console.log('');
  console.log(`2. ${C} commands in one job`);
  console.log(`   docker run --rm per command: ${s(freshPerCommand)}`);
  console.log(`   one container + docker exec: ${s(oneContainer)}`);
  console.log(`   ratio one container / run per command: ${(oneContainer / freshPerCommand).toFixed(2)}`);
  console.log('');
  console.log(`3. copy-in of a ${N}-file workspace (median of ${R}, ${counted[0]} files each)`);
  console.log(`   plain docker cp <dir>:   ${s(median(cpMs))}`);
  console.log(`   streamed tar (docker cp -): ${s(median(tarMs))}`);
  console.log(
    `   ratio streamed tar / docker cp: ${(median(tarMs) / median(cpMs)).toFixed(2)}  (docker cp of a directory streams a tar too: expect ~1)`,
  );
  console.log(`3b. 500 source files + a ${N}-file node_modules listed in .dockerignore (median of ${R})`);
  console.log(`   plain docker cp <dir> (copies everything): ${s(median(cp2))}`);
  console.log(`   streamed tar honouring .dockerignore:      ${s(median(tar2))}`);
  console.log(`   ratio: ${(median(tar2) / median(cp2)).toFixed(2)}`);
} finally {
  for (const c of created.containers) spawnSync('docker', ['rm', '--force', c]);
  for (const i of created.images) spawnSync('docker', ['image', 'rm', '--force', i]);
  spawnSync('sh', [
    '-c',
    `docker ps -aq --filter label=dev.shipline.step=run-in-container --filter name=${id} | xargs -r docker rm --force`,
  ]);
  rmSync(work, { recursive: true, force: true });
}
