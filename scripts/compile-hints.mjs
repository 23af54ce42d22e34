// Writes scripts/compile-hints.json: the lines of src/ (and node_modules/) where the functions
// start that the bench's runs call, which scripts/build.mjs then has V8 compile with the file
// instead of on first call (why: scripts/lib/compile-hints.cjs).
// It builds the bundles without hints and with source maps, runs every case of bench/steps.mjs
// once on Node 24 (every step's fail-fast; image-tags', assume-role's and ecr-login's happy
// paths against the bench's loopback STS, ECR and OIDC issuer) under V8 coverage, and keeps each
// function that ran, by the bundle file it ran in. Run it again after changing code those runs go through; a stale line costs
// time, never correctness (test/unit/compile-hints.test.ts finds lines that no longer start a
// function).
// Usage: node scripts/compile-hints.mjs [--out FILE]   (bench up: bash scripts/testbed up), then npm run build
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const require = createRequire(import.meta.url);
const { hintsFromCoverage } = require('./lib/compile-hints.cjs');
const work = mkdtempSync(join(tmpdir(), 'shipline-compile-hints-'));
const fail = (msg) => {
  rmSync(work, { recursive: true, force: true });
  console.error(`compile-hints: ${msg}`);
  process.exit(2);
};
const run = (args) =>
  spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const env = spawnSync('bash', [join(root, 'scripts/testbed'), 'env'], { encoding: 'utf8' });
if (env.status !== 0 || !/TB_STS_URL=/.test(env.stdout) || !/TB_NODE24=/.test(env.stdout))
  fail('the bench is not up (bash scripts/testbed up): the happy paths need its STS, ECR and Node 24');

let r = run([join(root, 'scripts/build.mjs'), '--maps', work]);
if (r.status !== 0) fail('the build failed');
/** V8 coverage of one run of each kept case (`--only`), each checked to exit as when timed. */
function covered(name, only) {
  const dir = join(work, name);
  const r = run([
    'bench/steps.mjs',
    '--only-node',
    '24',
    '--show',
    '--only',
    only,
    '--dist',
    join(work, 'dist'),
    '--coverage',
    dir,
  ]);
  if (r.status !== 0) fail('bench/steps.mjs --show failed');
  // A failed happy path would hint its error path.
  const runs = [...r.stdout.matchAll(/^(.+) on node \S+: exit (\d+)$/gm)];
  for (const [, c, code] of runs) if ((c.includes('fail-fast') ? '2' : '0') !== code) fail(`${c} exited ${code}`);
  return { runs: runs.length, coverages: readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))) };
}
const bad = covered('fail-fast', 'fail-fast');
const good = covered('happy', '^(?!.*fail-fast)');
if (good.runs < 5) fail("expected the bench's 5 happy paths: is the bench up?");
const from = (cov, f) => hintsFromCoverage(cov.coverages, join(work, 'dist'), root, [f]);
// index.js is all a bad input compiles: it takes what the bad inputs' runs call, and of the
// happy paths only the runtime (src/runtime/), which every run goes through after its checks. A
// step's own happy-path code there (image-tags' tag rules) stays lazy: hinted, it cost a bad
// input 3-4 ms. main.js and lazy.js take what any run calls.
const index = from(bad, 'index.js');
for (const [file, lines] of Object.entries(from(good, 'index.js')))
  if (file.startsWith('src/runtime/'))
    index[file] = [...new Set([...(index[file] ?? []), ...lines])].sort((a, b) => a - b);
const hints = {
  'index.js': Object.fromEntries(
    Object.keys(index)
      .sort()
      .map((f) => [f, index[f]]),
  ),
  'main.js': from(good, 'main.js'),
  'lazy.js': from(good, 'lazy.js'),
};
const out = resolve(values.out ?? join(root, 'scripts/compile-hints.json'));
writeFileSync(out, `${JSON.stringify(hints, null, 2)}\n`);
spawnSync(join(root, 'node_modules/.bin/prettier'), ['--write', out], { stdio: 'ignore' });
const count = (h) => Object.values(h).reduce((n, l) => n + l.length, 0);
const per = Object.entries(hints).map(([f, h]) => `${f} ${count(h)}`);
console.log(`compile-hints: lines by bundle file: ${per.join(', ')} (${bad.runs + good.runs} runs) -> ${out}`);
rmSync(work, { recursive: true, force: true });
