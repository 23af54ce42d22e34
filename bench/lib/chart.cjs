// The writer of bench/reuse.mjs's answer: a Markdown table and a hand-written SVG bar chart
// (no dependency). CommonJS so that jest (CommonJS, ts-jest) and the ESM bench script can
// both load it; its types are in chart.d.cts.
//
// A measurement is { k, runs, title?, note?, engines: { <engine>: { label, runs: [Run] } } },
// a Run is { reuse: Way, reinstall: Way } and a Way is { once: Phases, jobs: Phases[] }:
// seconds per phase, once for the pipeline (building the image) and per job.
'use strict';

/** Phases in the order they happen, with the words and colours the chart and table use. */
const PHASES = [
  { key: 'pull', label: 'pull', color: '#8d99ae' },
  { key: 'build', label: 'build', color: '#4c6ef5' },
  { key: 'push', label: 'push', color: '#748ffc' },
  { key: 'install', label: 'install packages', color: '#e8590c' },
  { key: 'start', label: 'container start/stop', color: '#ced4da' },
  { key: 'work', label: 'job work', color: '#2f9e44' },
];
const ONCE_COLOR = '#364fc7';

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const phasesTotal = (p) => sum(Object.values(p || {}).map(Number));

/** Seconds of one way in one run: once (build), jobs (all K jobs), total, per-phase sums. */
function wayTotals(way) {
  const once = phasesTotal(way.once);
  const jobTotals = way.jobs.map(phasesTotal);
  const jobs = sum(jobTotals);
  const perJob = {};
  for (const job of way.jobs) for (const [k, v] of Object.entries(job)) perJob[k] = (perJob[k] || 0) + Number(v);
  return { once, jobs, total: once + jobs, jobMedian: median(jobTotals), perJob, oncePhases: { ...way.once } };
}

/**
 * Per engine: medians over the runs (once, jobs, total, per-job median) of each way, the
 * ratio reuse/reinstall of every run (total, and jobs only), and the run whose total ratio
 * is the median (the chart draws that run, so its bars and labels agree).
 */
function summarize(measurement) {
  const out = [];
  for (const [key, engine] of Object.entries(measurement.engines)) {
    if (!engine || !engine.runs || engine.runs.length === 0) continue;
    const runs = engine.runs.map((r) => ({ reuse: wayTotals(r.reuse), reinstall: wayTotals(r.reinstall) }));
    const ratios = runs.map((r) => r.reuse.total / r.reinstall.total);
    const jobRatios = runs.map((r) => r.reuse.jobs / r.reinstall.jobs);
    const order = ratios.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
    const pick = order[Math.floor((order.length - 1) / 2)][1];
    const med = (way, field) => median(runs.map((r) => r[way][field]));
    const way = (name) => ({
      once: med(name, 'once'),
      jobs: med(name, 'jobs'),
      total: med(name, 'total'),
      jobMedian: med(name, 'jobMedian'),
    });
    out.push({
      key,
      label: engine.label || key,
      reuse: way('reuse'),
      reinstall: way('reinstall'),
      ratio: median(ratios),
      jobRatio: median(jobRatios),
      ratios,
      jobRatios,
      saved: median(runs.map((r) => r.reinstall.total - r.reuse.total)),
      chartRun: pick,
      chart: runs[pick],
    });
  }
  return out;
}

const fmtS = (s) => (Number.isFinite(s) ? `${s.toFixed(1)} s` : '—');
const fmtOnce = (s) => (s > 0 ? fmtS(s) : '—');
const fmtX = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '—');
const jobsWord = (k) => `${k} job${k === 1 ? '' : 's'}`;
const mdCell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown answer: one row per engine and way, then the per-run ratios. */
function reuseMarkdown(measurement) {
  const rows = summarize(measurement);
  const k = measurement.k;
  const lines = [];
  if (measurement.title) lines.push(`### ${measurement.title}`, '');
  lines.push(
    `| engine | way | once per pipeline | one job (median) | ${jobsWord(k)} | pipeline total | reuse / reinstall |`,
    '|---|---|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    lines.push(
      `| ${mdCell(r.label)} | reuse: image built once, every job runs in it | ${fmtOnce(r.reuse.once)} | ${fmtS(r.reuse.jobMedian)} | ${fmtS(r.reuse.jobs)} | ${fmtS(r.reuse.total)} | **${fmtX(r.ratio)}** (jobs only ${fmtX(r.jobRatio)}) |`,
      `| ${mdCell(r.label)} | reinstall: every job installs from the Debian base | ${fmtOnce(r.reinstall.once)} | ${fmtS(r.reinstall.jobMedian)} | ${fmtS(r.reinstall.jobs)} | ${fmtS(r.reinstall.total)} | 1 (baseline) |`,
    );
  }
  lines.push('');
  for (const r of rows) {
    const pct = (100 * r.saved) / r.reinstall.total;
    lines.push(
      `- **${mdCell(r.label)}**: reuse saves ${fmtS(r.saved)} of ${fmtS(r.reinstall.total)} (${Number.isFinite(pct) ? pct.toFixed(0) : '—'} %) ` +
        `for ${jobsWord(k)}; ratio per run ${r.ratios.map((x) => x.toFixed(2)).join(' · ')}` +
        (measurement.runs > 1 ? ` (median ${fmtX(r.ratio)})` : ''),
    );
  }
  if (measurement.note) lines.push('', measurement.note);
  return lines.join('\n') + '\n';
}

// ------------------------------------------------------------------ SVG

/** Text for an SVG text node or attribute. */
function escapeXml(s) {
  return String(s).replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c],
  );
}

/** A tick step of 1, 2 or 5 × 10^n giving about `count` ticks up to `max`. */
function niceStep(max, count = 5) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
}

const num = (v) => String(Math.round(v * 10) / 10);

/**
 * A horizontal stacked bar chart: `groups` of `bars`, each bar `segments` of
 * `{ key, value }` coloured by `legend` (`{ key, label, color }`), with a note right of the
 * bar. One x scale for all groups (seconds).
 */
function barChart({ title, subtitle = '', groups, legend, unit = 's', width = 780 }) {
  const font = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
  const left = 250;
  const right = 150;
  const plotW = width - left - right;
  const barH = 22;
  const gap = 8;
  const colors = new Map(legend.map((l) => [l.key, l.color]));
  const totals = groups.flatMap((g) => g.bars.map((b) => sum(b.segments.map((s) => Math.max(0, s.value)))));
  // the scale ends at the longest bar (its note goes in the right margin), ticks every `step`
  const step = niceStep(Math.max(...totals, 0));
  const max = Math.max(...totals, step);
  const x = (v) => left + (plotW * v) / max;

  const out = [];
  let y = 28;
  out.push(`<text x="16" y="${y}" font-size="16" font-weight="600" fill="#212529">${escapeXml(title)}</text>`);
  if (subtitle) {
    for (const line of String(subtitle).split('\n')) {
      y += 18;
      out.push(`<text x="16" y="${y}" font-size="12" fill="#495057">${escapeXml(line)}</text>`);
    }
  }
  y += 16;
  const plotTop = y;
  const body = [];
  for (const g of groups) {
    y += 20;
    body.push(`<text x="16" y="${y}" font-size="13" font-weight="600" fill="#212529">${escapeXml(g.label)}</text>`);
    y += 8;
    for (const b of g.bars) {
      const cy = y + barH / 2 + 4;
      body.push(
        `<text x="${left - 8}" y="${cy}" font-size="12" text-anchor="end" fill="#343a40">${escapeXml(b.label)}</text>`,
      );
      let at = 0;
      for (const s of b.segments) {
        const v = Math.max(0, s.value);
        if (v <= 0) continue;
        const x0 = x(at);
        const w = Math.max(0.5, x(at + v) - x0);
        const fill = colors.get(s.key) || '#adb5bd';
        body.push(
          `<rect x="${num(x0)}" y="${y}" width="${num(w)}" height="${barH}" fill="${fill}"><title>${escapeXml(
            `${s.label || s.key}: ${v.toFixed(1)} ${unit}`,
          )}</title></rect>`,
        );
        at += v;
      }
      const note = b.note ? escapeXml(b.note) : '';
      body.push(`<text x="${num(x(at) + 6)}" y="${cy}" font-size="12" fill="#212529">${note}</text>`);
      y += barH + gap;
    }
  }
  const plotBottom = y + 4;
  // grid and axis under the bars
  const grid = [];
  for (let t = 0; t <= max + 1e-9; t += step) {
    const gx = num(x(t));
    grid.push(`<line x1="${gx}" y1="${plotTop}" x2="${gx}" y2="${plotBottom}" stroke="#e9ecef" stroke-width="1"/>`);
    grid.push(
      `<text x="${gx}" y="${plotBottom + 16}" font-size="11" text-anchor="middle" fill="#868e96">${num(t)} ${unit}</text>`,
    );
  }
  y = plotBottom + 40;
  const legendOut = [];
  let lx = 16;
  for (const l of legend) {
    const w = 18 + l.label.length * 6.6 + 18;
    if (lx + w > width - 16) {
      lx = 16;
      y += 20;
    }
    legendOut.push(`<rect x="${num(lx)}" y="${y - 10}" width="12" height="12" fill="${l.color}"/>`);
    legendOut.push(`<text x="${num(lx + 18)}" y="${y}" font-size="12" fill="#343a40">${escapeXml(l.label)}</text>`);
    lx += w;
  }
  const height = y + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${font} role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...out,
    ...grid,
    ...body,
    ...legendOut,
    '</svg>',
    '',
  ].join('\n');
}

/** The chart of a measurement: per engine, a reuse bar and a reinstall bar (one run each). */
function reuseChart(measurement) {
  const rows = summarize(measurement);
  const seen = new Set();
  const groups = rows.map((r) => {
    const bar = (name, t, note) => {
      const segments = [];
      if (t.once > 0) {
        segments.push({ key: 'once', label: `once: ${Object.keys(t.oncePhases).join(' + ')}`, value: t.once });
        seen.add('once');
      }
      for (const p of PHASES) {
        const v = t.perJob[p.key];
        if (v > 0) {
          segments.push({ key: p.key, label: `${jobsWord(measurement.k)}: ${p.label}`, value: v });
          seen.add(p.key);
        }
      }
      return { label: name, segments, note };
    };
    const { reuse, reinstall } = r.chart;
    const runNote = measurement.runs > 1 ? ` (run ${r.chartRun + 1})` : '';
    return {
      label: r.label,
      bars: [
        bar(
          'reuse: image built once',
          reuse,
          `${reuse.total.toFixed(1)} s = ${fmtX(reuse.total / reinstall.total)}${runNote}`,
        ),
        bar('reinstall in every job', reinstall, `${reinstall.total.toFixed(1)} s (baseline)`),
      ],
    };
  });
  const legend = [
    { key: 'once', label: 'once per pipeline: the image build (pull, build, push)', color: ONCE_COLOR },
    ...PHASES.filter((p) => p.key !== 'build' && p.key !== 'push').map((p) => ({ ...p, label: `per job: ${p.label}` })),
  ].filter((l) => seen.has(l.key));
  return barChart({
    title: measurement.title || `Re-using one image vs reinstalling per job (${jobsWord(measurement.k)})`,
    subtitle: measurement.subtitle || '',
    groups,
    legend,
  });
}

module.exports = { PHASES, median, summarize, reuseMarkdown, reuseChart, barChart, escapeXml, niceStep };
