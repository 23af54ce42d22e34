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
  return [...map].sort((a, b) => a[0].localeCompare(b[0], 'en-US'));
}
