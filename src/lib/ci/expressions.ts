// The global expressions of docker/metadata-action (`{{branch}}`, `{{tag}}`, `{{sha}}`,
// `{{base_ref}}`, `{{is_default_branch}}`, `{{is_not_default_branch}}`, `{{date …}}`,
// `{{commit_date …}}`) plus shipline's `{{mr}}`, evaluated against a CI context.
import type { CiContext } from './context';
import { formatDate } from './date-format';
import { noArgs, type Call, type Scope } from './template';
import { ShiplineError } from '../util/errors';

export const GLOBAL_EXPRESSIONS = [
  'branch',
  'tag',
  'sha',
  'base_ref',
  'is_default_branch',
  'is_not_default_branch',
  'date',
  'commit_date',
  'mr',
] as const;
export const DATE_EXPRESSIONS = ['date', 'commit_date'] as const;

/** metadata-action's short sha: 7 characters, or DOCKER_METADATA_SHORT_SHA_LENGTH. */
export function anchorShaLength(ctx: CiContext): number {
  const raw = ctx.anchor.shortShaLength;
  if (raw === undefined) return 7;
  if (!/^\d+$/.test(raw.trim()))
    throw new ShiplineError(`DOCKER_METADATA_SHORT_SHA_LENGTH='${raw}' is not a number`, {
      kind: 'input',
      hint: 'set it to a whole number of characters, e.g. 12, or unset it (default 7)',
      data: { variable: 'DOCKER_METADATA_SHORT_SHA_LENGTH' },
    });
  return Number(raw);
}

export const shortSha = (sha: string, length: number) => (length >= sha.length ? sha : sha.slice(0, length));

/** `{{date 'format' tz='Zone'}}` over a fixed instant. */
export function dateHelper(name: string, at: Date): (call: Call) => string {
  return (call) => {
    let tz = 'UTC';
    for (const [k, v] of Object.entries(call.hash)) {
      if (k !== 'tz')
        throw new ShiplineError(`{{${name}}}: unknown attribute '${k}' (only tz='Zone')`, {
          kind: 'invalid',
          data: { helper: name },
        });
      tz = String(v);
    }
    if (call.args.length > 1)
      throw new ShiplineError(`{{${name}}} takes one format, e.g. {{${name} 'YYYYMMDD'}}`, {
        kind: 'invalid',
        data: { helper: name },
      });
    const f = call.args[0];
    return formatDate(at, typeof f === 'string' || typeof f === 'number' ? String(f) : undefined, tz);
  };
}

export interface Clock {
  now: Date;
}

export function dateScope(ctx: CiContext, clock: Clock): Scope {
  const commit = ctx.commitTime ? new Date(ctx.commitTime) : clock.now;
  return {
    date: dateHelper('date', clock.now),
    commit_date: dateHelper('commit_date', Number.isFinite(commit.getTime()) ? commit : clock.now),
  };
}

export function globalScope(ctx: CiContext, clock: Clock): Scope {
  const a = ctx.anchor;
  const isDefault = () => (a.isDefaultBranch ? 'true' : 'false');
  return {
    branch: noArgs('branch', () => (a.refKind === 'branch' ? a.refName : '')),
    tag: noArgs('tag', () => (a.refKind === 'tag' ? a.refName : '')),
    sha: noArgs('sha', () => shortSha(a.sha, anchorShaLength(ctx))),
    base_ref: noArgs('base_ref', () => a.baseRef),
    is_default_branch: noArgs('is_default_branch', isDefault),
    is_not_default_branch: noArgs('is_not_default_branch', () => (a.isDefaultBranch ? 'false' : 'true')),
    mr: noArgs('mr', () => ctx.mrIid ?? ''),
    ...dateScope(ctx, clock),
  };
}
