#!/usr/bin/env node
// Bundle bytes per step: the committed dist/ against the same sources bundled as before the
// split (index.js with main.ts and post.ts inside: `node scripts/build.mjs --one-file`), built
// in this run, and against another dist/ (`--before DIR`, one built from an earlier commit).
// A bad input compiles `index.js` alone; a run compiles the later files it needs too.
// Usage: node bench/bundles.mjs [--before DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { before: { type: 'string' } } });
const temp = mkdtempSync(join(tmpdir(), 'shipline-bundles-'));
try {
  const built = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), '--one-file', temp], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`scripts/build.mjs --one-file failed:\n${built.stderr}`);
  const dists = [
    ['dist/', join(root, 'dist')],
    ['one file', join(temp, 'dist')],
    ...(values.before ? [['--before', resolve(values.before)]] : []),
  ];
  /** Bytes of a step's files in a dist/: [index.js, all its .js files]. */
  const weigh = (dir, step) => {
    const d = join(dir, step);
    if (!existsSync(join(d, 'index.js'))) return undefined;
    const all = readdirSync(d)
      .filter((f) => f.endsWith('.js'))
      .reduce((n, f) => n + statSync(join(d, f)).size, 0);
    return [statSync(join(d, 'index.js')).size, all];
  };
  const pct = (a, b) => (b ? `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%` : '');
  const steps = readdirSync(join(root, 'dist'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const head = dists.flatMap(([label]) => [`index.js (${label})`, `all (${label})`]);
  console.log(
    `| step | ${head.join(' | ')} | all, dist/ against one file |${values.before ? ' against --before |' : ''}`,
  );
  console.log(`|---|${head.map(() => '---|').join('')}---|${values.before ? '---|' : ''}`);
  for (const step of steps) {
    const w = dists.map(([, dir]) => weigh(dir, step));
    const cells = w.flatMap((x) => (x ? [x[0], x[1]] : ['-', '-']));
    const vsOne = w[1] ? pct(w[0][1], w[1][1]) : '';
    const vsBefore = values.before ? ` ${w[2] ? pct(w[0][1], w[2][1]) : '-'} |` : '';
    console.log(`| ${step} | ${cells.join(' | ')} | ${vsOne} |${vsBefore}`);
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
