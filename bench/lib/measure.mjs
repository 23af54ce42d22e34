// The timing loop the start-up benches share: every case is a node process, run
// interleaved with the others (machine noise then hits all alike), timed as a median and
// printed as a ratio to the first case (the baseline, usually `node -e ''`).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One timed run of `node <args>`; fails when the exit code is not the expected one. */
export function timeCase(node, c, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(node, c.args, { env: c.env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== c.code) throw new Error(`${c.name}: exit ${r.status}, wanted ${c.code}: ${r.stderr}`);
  // Untimed cleanup (e.g. the step's --post).
  if (c.after) spawnSync(node, c.after.args, { env: c.after.env, cwd, stdio: 'ignore' });
  return ms;
}

/**
 * Runs `cases` (`{ name, args, env, code, after? }`) `runs` times each, interleaved, prints
 * `name  median ms  ratio` lines, and returns the medians by case name.
 */
export function compareCases(cases, { runs, node = process.execPath, cwd, note = '' }) {
  const samples = cases.map(() => []);
  for (let i = 0; i < runs; i++) cases.forEach((c, j) => samples[j].push(timeCase(node, c, cwd)));
  const medians = new Map(cases.map((c, j) => [c.name, median(samples[j])]));
  const base = median(samples[0]);
  const width = Math.max(...cases.map((c) => c.name.length)) + 2;
  console.log(`node ${spawnSync(node, ['--version']).stdout.toString().trim()}, ${runs} runs each, median${note}`);
  for (const c of cases) {
    const m = medians.get(c.name);
    console.log(`${c.name.padEnd(width)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}x`);
  }
  return medians;
}

/**
 * CPU time (user + system, ms) of every child this process has reaped so far, from
 * /proc/self/stat (cutime + cstime, in clock ticks of 10 ms): read before and after one run,
 * the difference is that run's CPU time. One run's figure is coarse (a tick); the mean of many
 * runs is not. On a loaded machine it moves far less than the wall time, which also holds the
 * waits for a CPU. undefined where /proc is missing.
 */
export function childCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return undefined;
  }
}

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
