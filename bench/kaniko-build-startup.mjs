// kaniko-build's own start-up cost against bare node, measured in the same run (DESIGN §7:
// fail-fast <= 1.3x `node -e ''`, happy-path overhead <= 2x). The happy path runs the
// kaniko path with a /bin/sh executor stand-in that only writes the digest file, so the
// time is the step's (inputs, Dockerfile check, credentials, config file, cleanup), not a
// builder's. Environment reduced to PATH/HOME, like `env -i` (TESTBED.md).
// Usage: node bench/kaniko-build-startup.mjs [runs=30] [node binary]
import { compareCases } from './lib/measure.mjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bundle = join(root, 'dist/kaniko-build/index.js');
const runs = Number(process.argv[2] ?? 30);
const node = process.argv[3] ?? process.execPath;
const work = mkdtempSync(join(tmpdir(), 'shipline-bench-kb-'));
writeFileSync(
  join(work, 'Dockerfile'),
  'FROM harbor.example.com/base/busybox:1 AS build\nRUN true\nFROM build AS final\n',
);
const executor = join(work, 'executor');
writeFileSync(
  executor,
  '#!/bin/sh\nfor a; do case "$a" in --digest-file=*) echo sha256:0000000000000000000000000000000000000000000000000000000000000000 > "${a#--digest-file=}";; esac; done\n',
  { mode: 0o755 },
);
const cfg = join(work, 'kaniko-docker');
mkdirSync(join(work, 'tmp'));
const auth = Buffer.from(
  JSON.stringify({ auths: { 'harbor.example.com': { auth: Buffer.from('robot:pw-bench').toString('base64') } } }),
).toString('base64');
const env = {
  PATH: process.env.PATH,
  HOME: join(work, 'home'),
  TMPDIR: join(work, 'tmp'),
  GITLAB_CI: 'true',
  CI_PROJECT_DIR: work,
  CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
  CI_COMMIT_BRANCH: 'main',
  CI_DEFAULT_BRANCH: 'main',
  HARBOR_ROBOT_CREDS_JSON: auth,
};
const step = [
  '--executor',
  executor,
  '--kaniko-config-dir',
  cfg,
  '--images',
  'harbor.example.com/team/app',
  '--auth-config-variable',
  'HARBOR_ROBOT_CREDS_JSON',
];

const cases = [
  { name: "node -e ''", args: ['-e', ''], env, code: 0 },
  // The builder is the step's "remote call": node plus one run of the stand-in, for reference.
  {
    name: 'node -e spawnSync(stand-in executor)',
    args: ['-e', `require('node:child_process').spawnSync(${JSON.stringify(executor)}, ['--digest-file=/dev/null'])`],
    env,
    code: 0,
  },
  // Another step's fail-fast in the same run: what the shared runtime costs on this machine now.
  {
    name: 'reference: image-tags fail-fast',
    args: [join(root, 'dist/image-tags/index.js'), '--latest', 'maybe'],
    env,
    code: 2,
  },
  { name: 'fail-fast: bad input (--builder docker)', args: [bundle, '--builder', 'docker'], env, code: 2 },
  { name: 'fail-fast: unknown target', args: [bundle, ...step, '--target', 'nope'], env, code: 2 },
  {
    name: 'fail-fast: credentials variable empty',
    args: [bundle, ...step],
    env: { ...env, HARBOR_ROBOT_CREDS_JSON: '' },
    code: 2,
  },
  { name: 'happy path, kaniko (sh stand-in executor)', args: [bundle, ...step], env, code: 0 },
];

const medians = compareCases(cases, { runs, node, cwd: work });
const base = medians.get(cases[0].name);
const withChild = medians.get(cases[1].name);
console.log(
  `happy path minus the stand-in's own run: ${((medians.get(cases[cases.length - 1].name) - (withChild - base)) / base).toFixed(2)}x node -e ''`,
);
rmSync(work, { recursive: true, force: true });
