// Types of chart.cjs (the Markdown/SVG writer of bench/reuse.mjs).

/** Seconds per phase (pull, build, push, install, start, work). */
export type Phases = Partial<Record<'pull' | 'build' | 'push' | 'install' | 'start' | 'work', number>>;
export interface Way {
  /** Once per pipeline (the image build); empty for reinstall. */
  once: Phases;
  /** One entry per job. */
  jobs: Phases[];
}
export interface Run {
  reuse: Way;
  reinstall: Way;
}
export interface Measurement {
  k: number;
  runs: number;
  title?: string;
  subtitle?: string;
  note?: string;
  engines: Record<string, { label: string; runs: Run[] }>;
}
export interface WayTotals {
  once: number;
  jobs: number;
  total: number;
  jobMedian: number;
  perJob: Phases;
  oncePhases: Phases;
}
export interface WaySummary {
  once: number;
  jobs: number;
  total: number;
  jobMedian: number;
}
export interface EngineSummary {
  key: string;
  label: string;
  reuse: WaySummary;
  reinstall: WaySummary;
  /** Median over runs of reuse total / reinstall total (once counted). */
  ratio: number;
  /** Median over runs of reuse jobs / reinstall jobs (once not counted). */
  jobRatio: number;
  ratios: number[];
  jobRatios: number[];
  saved: number;
  chartRun: number;
  chart: { reuse: WayTotals; reinstall: WayTotals };
}
export interface BarChart {
  title: string;
  subtitle?: string;
  unit?: string;
  width?: number;
  groups: {
    label: string;
    bars: { label: string; note?: string; segments: { key: string; label?: string; value: number }[] }[];
  }[];
  legend: { key: string; label: string; color: string }[];
}

export const PHASES: { key: keyof Phases; label: string; color: string }[];
export function median(xs: number[]): number;
export function summarize(m: Measurement): EngineSummary[];
export function reuseMarkdown(m: Measurement): string;
export function reuseChart(m: Measurement): string;
export function barChart(spec: BarChart): string;
export function escapeXml(s: string): string;
export function niceStep(max: number, count?: number): number;
