// Sums V8 CPU profiles (node --cpu-prof) of several runs of one case: self time per source
// file and per function, averaged per run, as text. Start-up costs are a few ms spread over
// node's own modules and the bundle; this says which.
import { readdirSync, readFileSync } from 'node:fs';

/** Self time of every (file, function) in the profiles under `dir`, per run. */
export function selfTimes(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const byFile = new Map();
  const byFn = new Map();
  let total = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    p.samples.forEach((id, i) => {
      const us = p.timeDeltas[i] ?? 0;
      const cf = nodes.get(id).callFrame;
      const file = cf.url || `(${cf.functionName})`;
      const fn = `${cf.functionName || '(top level)'} ${file}:${cf.lineNumber + 1}:${cf.columnNumber + 1}`;
      byFile.set(file, (byFile.get(file) ?? 0) + us);
      byFn.set(fn, (byFn.get(fn) ?? 0) + us);
      total += us;
    });
  }
  const perRun = (m) => [...m].map(([k, us]) => [k, us / files.length / 1000]).sort((a, b) => b[1] - a[1]);
  return {
    runs: files.length,
    totalMs: total / Math.max(files.length, 1) / 1000,
    byFile: perRun(byFile),
    byFn: perRun(byFn),
  };
}

/** The top `top` files and functions, `root` cut from paths. */
export function summarizeProfiles(dir, { root = '', top = 15 } = {}) {
  const t = selfTimes(dir);
  const cut = (s) => (root ? s.replaceAll(`file://${root}/`, '').replaceAll(`${root}/`, '') : s);
  const rows = (list) => list.slice(0, top).map(([k, ms]) => `${ms.toFixed(2).padStart(7)} ms  ${cut(k)}`);
  return [
    `sampled ${t.totalMs.toFixed(1)} ms per run (${t.runs} runs)`,
    'self time by file:',
    ...rows(t.byFile),
    'self time by function:',
    ...rows(t.byFn),
  ].join('\n');
}
