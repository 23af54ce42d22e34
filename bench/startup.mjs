// Start-up cost of a step against bare node, measured in the same run (DESIGN §7:
// fail-fast <= 1.3x `node -e ''`, happy path <= 2x). Runs under `env -i` so the
// machine's NODE_EXTRA_CA_CERTS does not inflate every start (TESTBED.md).
// Usage: node bench/startup.mjs [runs=40] [node binary]
import { compareCases } from './lib/measure.mjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 40);
const node = process.argv[3] ?? process.execPath;
const work = mkdtempSync(join(tmpdir(), 'shipline-bench-'));
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
const gitlab = {
  ...baseEnv,
  GITLAB_CI: 'true',
  CI_PROJECT_DIR: work,
  CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
  CI_COMMIT_BRANCH: 'main',
  CI_DEFAULT_BRANCH: 'main',
  CI_COMMIT_TIMESTAMP: '2026-11-20T10:00:00Z',
};

const cases = [
  { name: "node -e ''", args: ['-e', ''], env: baseEnv, code: 0 },
  {
    name: 'image-tags fail-fast (--latest maybe)',
    args: [join(root, 'dist/image-tags/index.js'), '--latest', 'maybe'],
    env: baseEnv,
    code: 2,
  },
  {
    name: 'image-tags happy path (GitLab default branch)',
    args: [join(root, 'dist/image-tags/index.js'), '--images', 'registry.example.com/team/app'],
    env: gitlab,
    code: 0,
  },
  {
    name: 'shipline CLI happy path',
    args: [join(root, 'dist/cli.js'), 'image-tags', '--images', 'registry.example.com/team/app'],
    env: gitlab,
    code: 0,
  },
];

compareCases(cases, { runs, node });
