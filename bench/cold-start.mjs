// Every step's fail-fast start (a bad input: exit 2 before any heavy module loads) as a
// ratio to bare `node -e ''`, measured interleaved in one run. With `--before DIR` the same
// cases also run from another dist/ (e.g. one built from an earlier commit), so a change's
// effect on start-up is read as two ratios from the same run.
// Runs under `env -i` so the machine's NODE_EXTRA_CA_CERTS does not inflate every start.
// Usage: node bench/cold-start.mjs [--runs 30] [--node BIN] [--before DIR]
import { compareCases } from './lib/measure.mjs';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, node: { type: 'string' }, before: { type: 'string' } },
});
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

// One invalid input per step: refused by input validation, exit 2 (shared with bench/steps.mjs).
const FAIL_FAST = JSON.parse(readFileSync(join(root, 'bench/fail-fast.json'), 'utf8'));

const dists = [['', join(root, 'dist')], ...(values.before ? [[' (before)', resolve(values.before)]] : [])];
const cases = [{ name: "node -e ''", args: ['-e', ''], env, code: 0 }];
for (const [step, args] of Object.entries(FAIL_FAST)) {
  for (const [label, dir] of dists)
    cases.push({ name: `${step} fail-fast${label}`, args: [join(dir, step, 'index.js'), ...args], env, code: 2 });
}

compareCases(cases, {
  runs: Number(values.runs),
  ...(values.node ? { node: values.node } : {}),
  note: ', ratio to the first row',
});
