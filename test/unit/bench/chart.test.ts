// bench/lib/chart.cjs: the Markdown table and the SVG chart of bench/reuse.mjs's measurement.
import { XMLValidator } from 'fast-xml-parser'; // a dependency of the AWS SDK (devDependencies)
import {
  barChart,
  escapeXml,
  median,
  niceStep,
  reuseChart,
  reuseMarkdown,
  summarize,
  type Measurement,
} from '../../../bench/lib/chart.cjs';

const jobs = (n: number, phases: Record<string, number>) => Array.from({ length: n }, () => ({ ...phases }));

/** Two engines; fresh has two runs, the second slower for reuse (ratio 0.8 vs 0.5). */
const measurement: Measurement = {
  k: 2,
  runs: 2,
  title: 'Reuse <vs> reinstall & co',
  subtitle: 'line one\nline two',
  engines: {
    warm: {
      label: 'warm engine',
      runs: [
        {
          reuse: { once: { build: 10 }, jobs: jobs(2, { start: 0.5, work: 0.5 }) },
          reinstall: { once: {}, jobs: jobs(2, { install: 9, start: 0.5, work: 0.5 }) },
        },
        {
          reuse: { once: { build: 10 }, jobs: jobs(2, { start: 0.5, work: 0.5 }) },
          reinstall: { once: {}, jobs: jobs(2, { install: 9, start: 0.5, work: 0.5 }) },
        },
      ],
    },
    fresh: {
      label: 'fresh | engine',
      runs: [
        {
          reuse: { once: { pull: 1, build: 8, push: 1 }, jobs: jobs(2, { pull: 2, start: 0.5, work: 2.5 }) },
          reinstall: { once: {}, jobs: jobs(2, { pull: 1, install: 13, start: 0.5, work: 0.5 }) },
        },
        {
          reuse: { once: { pull: 1, build: 14, push: 1 }, jobs: jobs(2, { pull: 3, start: 0.5, work: 2.5 }) },
          reinstall: { once: {}, jobs: jobs(2, { pull: 1, install: 13, start: 0.5, work: 0.5 }) },
        },
      ],
    },
  },
};

describe('summarize', () => {
  const [warm, fresh] = summarize(measurement);

  test('totals count the once-per-pipeline build with the jobs; ratios are reuse / reinstall', () => {
    expect(warm!.reuse).toEqual({ once: 10, jobs: 2, total: 12, jobMedian: 1 });
    expect(warm!.reinstall).toEqual({ once: 0, jobs: 20, total: 20, jobMedian: 10 });
    expect(warm!.ratio).toBeCloseTo(0.6);
    expect(warm!.jobRatio).toBeCloseTo(0.1);
    expect(warm!.saved).toBeCloseTo(8);
  });

  test('several runs: medians, every run’s ratio, and the chart draws the median-ratio run', () => {
    // run 1: reuse 10 + 10 = 20 of 30 (0.667); run 2: 16 + 12 = 28 of 30 (0.933)
    expect(fresh!.ratios.map((r) => +r.toFixed(3))).toEqual([0.667, 0.933]);
    expect(fresh!.ratio).toBeCloseTo(0.8);
    expect(fresh!.reuse.total).toBeCloseTo(24);
    expect(fresh!.chartRun).toBe(0); // of two, the lower middle
    expect(fresh!.chart.reuse.total).toBeCloseTo(20);
    expect(fresh!.chart.reuse.perJob).toEqual({ pull: 4, start: 1, work: 5 });
    expect(fresh!.chart.reuse.oncePhases).toEqual({ pull: 1, build: 8, push: 1 });
  });

  test('median of even and odd counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('reuseMarkdown', () => {
  const md = reuseMarkdown(measurement);

  test('a row per engine and way, with the ratio against the baseline of the same runs', () => {
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    expect(rows[0]).toBe(
      '| engine | way | once per pipeline | one job (median) | 2 jobs | pipeline total | reuse / reinstall |',
    );
    expect(rows).toHaveLength(5);
    expect(rows[1]).toContain('| warm engine | reuse');
    expect(rows[1]).toContain('| 10.0 s | 1.0 s | 2.0 s | 12.0 s | **0.60×** (jobs only 0.10×) |');
    expect(rows[2]).toContain('| — | 10.0 s | 20.0 s | 20.0 s | 1 (baseline) |');
    // a | in a label does not split the cell
    expect(rows[3]).toContain('| fresh \\| engine | reuse');
  });

  test('says what was saved, and every run’s ratio', () => {
    expect(md).toContain('reuse saves 8.0 s of 20.0 s (40 %) for 2 jobs; ratio per run 0.60 · 0.60 (median 0.60×)');
    expect(md).toContain('ratio per run 0.67 · 0.93 (median 0.80×)');
    expect(md.startsWith('### Reuse <vs> reinstall & co\n')).toBe(true);
  });

  test('one job, one run: no plural, no median', () => {
    const one: Measurement = {
      ...measurement,
      k: 1,
      runs: 1,
      engines: { warm: { label: 'w', runs: [measurement.engines.warm!.runs[0]!] } },
    };
    const text = reuseMarkdown(one);
    expect(text).toContain('| 1 job |');
    expect(text).toContain('for 1 job; ratio per run 0.60\n');
  });
});

describe('reuseChart', () => {
  const svg = reuseChart(measurement);

  test('is well-formed SVG with the title escaped', () => {
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('Reuse &lt;vs&gt; reinstall &amp; co');
    expect(svg).not.toContain('<vs>');
    expect(svg).toMatch(/viewBox="0 0 780 \d+"/);
  });

  test('two bars per engine, segments sized on one scale, labelled with totals and ratios', () => {
    expect(svg).toContain('>warm engine</text>');
    expect(svg).toContain('>fresh | engine</text>');
    expect(svg.match(/>reuse: image built once</g)).toHaveLength(2);
    expect(svg.match(/>reinstall in every job</g)).toHaveLength(2);
    expect(svg).toContain('12.0 s = 0.60×');
    expect(svg).toContain('20.0 s = 0.67× (run 1)'); // the median-ratio run of fresh
    expect(svg).toContain('30.0 s (baseline)');
    // scale: the longest bar (30 s) ends at the last tick (30 s), 380 px wide from x=250
    const widths = [
      ...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="22" fill="[^"]+"><title>([^<]+)</g),
    ];
    const once = widths.find((w) => w[3]!.startsWith('once: pull + build + push'));
    expect(Number(once![2])).toBeCloseTo((380 * 10) / 30, 0);
    expect(svg).toContain('>30 s</text>');
  });

  test('the legend names only the phases drawn', () => {
    const warmOnly = reuseChart({ ...measurement, engines: { warm: measurement.engines.warm! } });
    expect(warmOnly).toContain('per job: install packages');
    expect(warmOnly).not.toContain('per job: pull');
  });
});

describe('barChart and helpers', () => {
  test('escapeXml', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });

  test('niceStep picks 1, 2 or 5 × 10^n', () => {
    expect(niceStep(45.9)).toBe(10);
    expect(niceStep(9)).toBe(2);
    expect(niceStep(240)).toBe(50);
    expect(niceStep(0)).toBe(1);
  });

  test('an empty chart is still well-formed', () => {
    const svg = barChart({ title: 'nothing', groups: [], legend: [] });
    expect(XMLValidator.validate(svg)).toBe(true);
  });
});
