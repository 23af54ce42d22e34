// OCI labels and annotations, as docker/metadata-action makes them: title, description,
// url, source, version, created, revision and licenses from the repository and the run,
// then the user's `key=value` lines (expressions allowed) over them, sorted by key. One
// difference: `created` is the commit time (reproducible builds), not the clock's.
import type { CiContext } from './context';
import { GLOBAL_EXPRESSIONS, globalScope } from './expressions';
import { compileTemplate, renderTemplate } from './template';
import { TagRuleError } from './tags';
import { isShiplineError } from '../util/errors';

export interface LabelOptions {
  /** The main version (the first tag). */
  version: string;
  /** `key=value` lines over the generated ones. */
  extra: string[];
  /** Which input the lines are, for errors. */
  kind?: 'label' | 'annotation';
  now?: Date;
}

/** A `key=value` line: the problem, or undefined (for the input check). */
export function labelLineProblem(line: string): string | undefined {
  if (line.indexOf('=') <= 0) return `'${line}' is not key=value`;
  try {
    compileTemplate(line, GLOBAL_EXPRESSIONS, 'in a label');
    return undefined;
  } catch (err) {
    return isShiplineError(err) ? err.message : String(err);
  }
}

/** Labels (or annotations without their level), sorted by key like metadata-action's. */
export function computeLabels(ctx: CiContext, opts: LabelOptions): [string, string][] {
  const now = opts.now ?? new Date();
  const created =
    ctx.commitTime && Number.isFinite(new Date(ctx.commitTime).getTime()) ? new Date(ctx.commitTime) : now;
  const r = ctx.repository;
  const map = new Map<string, string>([
    ['org.opencontainers.image.title', r.title],
    ['org.opencontainers.image.description', r.description],
    ['org.opencontainers.image.url', r.url],
    ['org.opencontainers.image.source', r.url],
    ['org.opencontainers.image.version', opts.version],
    ['org.opencontainers.image.created', created.toISOString()],
    ['org.opencontainers.image.revision', ctx.anchor.sha || ctx.sha || ''],
    ['org.opencontainers.image.licenses', r.licenses],
  ]);
  const scope = globalScope(ctx, { now });
  const kind = opts.kind ?? 'label';
  for (const line of opts.extra) {
    const problem = labelLineProblem(line);
    const fail = (why: string) =>
      new TagRuleError(`${kind} '${line}': ${why}`, kind === 'label' ? { label: line } : { annotation: line });
    if (problem)
      throw line.indexOf('=') <= 0
        ? new TagRuleError(
            `${kind} '${line}' is not key=value`,
            kind === 'label' ? { label: line } : { annotation: line },
          )
        : fail(problem);
    let text: string;
    try {
      text = renderTemplate(compileTemplate(line, GLOBAL_EXPRESSIONS, 'in a label'), scope);
    } catch (err) {
      if (isShiplineError(err) && err.kind === 'input') throw err;
      throw fail(isShiplineError(err) ? err.message : String(err));
    }
    const eq = text.indexOf('=');
    if (eq <= 0) throw fail('is not key=value once its expressions are rendered');
    map.set(text.slice(0, eq), text.slice(eq + 1));
  }
  return [...map].sort((a, b) => collateEnUs(a[0], b[0]));
}

// The order metadata-action sorts keys in (`localeCompare`, ICU's en-US collation on a runner),
// without starting ICU's collator: that costs ~7 ms, a fifth of bare node, on every run that
// writes labels. For printable ASCII (every key in practice) the collation is two levels: the
// characters' primary order below, letters case-blind; then, between keys equal there, the
// first lowercase letter before its capital. Anything else is left to ICU.
// tests compare it with localeCompare('en-US') over random keys.
const PRIMARY_ORDER = ' _-,;:!?.\'"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz';
const PRIMARY = new Int8Array(128).fill(-1);
for (let i = 0; i < PRIMARY_ORDER.length; i++) {
  const c = PRIMARY_ORDER.charCodeAt(i);
  PRIMARY[c] = i;
  if (c >= 0x61 && c <= 0x7a) PRIMARY[c - 0x20] = i;
}
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** `a.localeCompare(b, 'en-US')`'s sign (-1, 0, 1). */
export function collateEnUs(a: string, b: string): number {
  if (!PRINTABLE_ASCII.test(a) || !PRINTABLE_ASCII.test(b)) return Math.sign(a.localeCompare(b, 'en-US'));
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = PRIMARY[a.charCodeAt(i)]! - PRIMARY[b.charCodeAt(i)]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  // equal but for case: the first position that differs decides, lowercase first
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x > y ? -1 : 1;
  }
  return 0;
}
