// Tag and label rules: a CI context in, image tags and OCI labels out. Zero network calls.
// Rules are lines like docker/metadata-action's (`type=ref,event=branch`), with defaults
// that match the seeds: MR -> MR-<iid>, default branch -> <short-sha> + latest,
// other branch -> <branch-slug>, release tag -> the tag.
import type { CiContext } from './context';
import { TAG_RE } from '../registry/reference';
import { ShiplineError } from '../util/errors';

export type RuleType = 'ref' | 'semver' | 'sha' | 'raw' | 'schedule';

export interface TagRule {
  type: RuleType;
  /** ref: branch | tag | mr (alias pr) */
  event?: 'branch' | 'tag' | 'mr';
  /** semver / schedule / raw templates */
  pattern?: string;
  value?: string;
  prefix: string;
  suffix: string;
  /** 'true' | 'false' | '{{is_default_branch}}' | '!{{is_default_branch}}' */
  enable: string;
  /** sha: short | long */
  format?: 'short' | 'long';
  /** semver: allow a bare '0' major (from v0.x) */
  allowZero?: boolean;
  /** The rule line as written, for errors. */
  source: string;
}

export interface TagOptions {
  mrPrefix: string;
  shaLength: number;
  /** auto: on the default branch; true: also on final release tags; false: never. */
  latest: 'auto' | 'true' | 'false';
  /** The run's clock, for {{date}} (injectable for tests). */
  now?: Date;
}

export interface TagResult {
  /** Tag names, in rule order, deduplicated. */
  tags: string[];
  /** The main version: the first tag. */
  version: string;
  /** Semver of a release tag, if it is one. */
  semver: SemVer | undefined;
}

/** A tag rule or label line that does not parse, or a rule producing an invalid tag (data: the rule or the label line). */
export class TagRuleError extends ShiplineError {
  constructor(message: string, data: { rule: string } | { label: string }) {
    super(message, { kind: 'invalid', data });
    this.name = 'TagRuleError';
  }
}

const RULE_KEYS: Record<RuleType, string[]> = {
  ref: ['event', 'prefix', 'suffix', 'enable'],
  semver: ['pattern', 'value', 'prefix', 'suffix', 'enable', 'allow-zero'],
  sha: ['prefix', 'suffix', 'enable', 'format'],
  raw: ['value', 'prefix', 'suffix', 'enable'],
  schedule: ['pattern', 'prefix', 'suffix', 'enable'],
};

export const DEFAULT_RULES = [
  'type=ref,event=mr',
  'type=ref,event=branch,enable=!{{is_default_branch}}',
  'type=sha,enable={{is_default_branch}}',
  'type=ref,event=tag',
];

/** Parses rule lines; the line `defaults` expands to DEFAULT_RULES. */
export function parseRules(lines: string[]): TagRule[] {
  const out: TagRule[] = [];
  for (const line of lines.length ? lines : ['defaults']) {
    const l = line.trim();
    if (l === 'defaults') {
      out.push(...DEFAULT_RULES.map(parseRule));
      continue;
    }
    out.push(parseRule(l));
  }
  return out;
}

export function parseRule(line: string): TagRule {
  const fields = new Map<string, string>();
  // Split on commas that start a new key=, so `value=a,b` is not cut in the middle of a
  // template; a bare word (e.g. `latest`) is shorthand for type=raw,value=<word>.
  for (const part of line.split(/,(?=\s*[a-z-]+=)/)) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (!line.includes('=')) return parseRule(`type=raw,value=${line}`);
      throw new TagRuleError(`tag rule '${line}': '${part}' is not key=value`, { rule: line });
    }
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const type = (fields.get('type') ?? 'raw') as RuleType;
  const allowed = RULE_KEYS[type];
  if (!allowed)
    throw new TagRuleError(`tag rule '${line}': type '${type}' is unknown (use ref, semver, sha, raw, schedule)`, {
      rule: line,
    });
  for (const key of fields.keys()) {
    if (key !== 'type' && !allowed.includes(key)) {
      throw new TagRuleError(
        `tag rule '${line}': '${key}' does not apply to type=${type} (allowed: ${allowed.join(', ')})`,
        { rule: line },
      );
    }
  }
  const rule: TagRule = {
    type,
    prefix: fields.get('prefix') ?? '',
    suffix: fields.get('suffix') ?? '',
    enable: fields.get('enable') ?? 'true',
    source: line,
  };
  if (!['true', 'false', '{{is_default_branch}}', '!{{is_default_branch}}'].includes(rule.enable)) {
    throw new TagRuleError(
      `tag rule '${line}': enable='${rule.enable}' (use true, false, {{is_default_branch}} or !{{is_default_branch}})`,
      { rule: line },
    );
  }
  if (type === 'ref') {
    const ev = fields.get('event');
    if (ev === 'pr') rule.event = 'mr';
    else if (ev === 'branch' || ev === 'tag' || ev === 'mr') rule.event = ev;
    else
      throw new TagRuleError(`tag rule '${line}': type=ref needs event=branch, event=tag or event=mr`, { rule: line });
  }
  if (type === 'semver') {
    const p = fields.get('pattern');
    if (!p)
      throw new TagRuleError(
        `tag rule '${line}': type=semver needs pattern= (e.g. {{version}}, {{major}}.{{minor}}, {{major}})`,
        { rule: line },
      );
    rule.pattern = p;
    rule.allowZero = fields.get('allow-zero') === 'true';
  }
  if (type === 'raw') {
    const v = fields.get('value');
    if (!v) throw new TagRuleError(`tag rule '${line}': type=raw needs value=`, { rule: line });
    rule.value = v;
  }
  if (type === 'schedule') rule.pattern = fields.get('pattern') ?? 'nightly';
  if (type === 'sha') {
    const f = fields.get('format') ?? 'short';
    if (f !== 'short' && f !== 'long')
      throw new TagRuleError(`tag rule '${line}': format='${f}' (use short or long)`, { rule: line });
    rule.format = f;
  }
  return rule;
}

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string | undefined;
  build: string | undefined;
  /** Without the leading v. */
  version: string;
}

const SEMVER_RE =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function parseSemver(tag: string): SemVer | undefined {
  const m = SEMVER_RE.exec(tag);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4],
    build: m[5],
    version: tag.replace(/^v/, ''),
  };
}

/** A tag-safe slug: lowercase, invalid characters to '-', no leading '.'/'-'. */
export function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+/, '')
    .replace(/-+$/, '');
}

function enabled(rule: TagRule, ctx: CiContext): boolean {
  switch (rule.enable) {
    case 'false':
      return false;
    case '{{is_default_branch}}':
      return ctx.isDefaultBranch;
    case '!{{is_default_branch}}':
      return !ctx.isDefaultBranch;
    default:
      return true;
  }
}

function expandSemver(pattern: string, v: SemVer, allowZero: boolean): string | undefined {
  const usesMajorOnly =
    !pattern.includes('{{minor}}') && !pattern.includes('{{patch}}') && !pattern.includes('{{version}}');
  // Floating tags (1, 1.2) never move to a prerelease.
  if (v.prerelease && !pattern.includes('{{version}}') && !pattern.includes('{{prerelease}}')) return undefined;
  if (usesMajorOnly && pattern.includes('{{major}}') && v.major === 0 && !allowZero) return undefined;
  return pattern
    .replaceAll('{{version}}', v.version.replace(/\+/g, '-'))
    .replaceAll('{{major}}', String(v.major))
    .replaceAll('{{minor}}', String(v.minor))
    .replaceAll('{{patch}}', String(v.patch))
    .replaceAll('{{prerelease}}', v.prerelease ?? '')
    .replaceAll('{{raw}}', '');
}

function expandTemplate(value: string, ctx: CiContext, opts: TagOptions): string {
  const now = opts.now ?? new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return value
    .replaceAll('{{branch}}', slug(ctx.branch ?? ''))
    .replaceAll('{{tag}}', ctx.tag ?? '')
    .replaceAll('{{sha}}', (ctx.sha ?? '').slice(0, opts.shaLength))
    .replaceAll('{{mr}}', ctx.mrIid ?? '')
    .replaceAll('{{date}}', `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`);
}

function valueFor(rule: TagRule, ctx: CiContext, opts: TagOptions, semver: SemVer | undefined): string | undefined {
  switch (rule.type) {
    case 'ref':
      if (rule.event === 'mr') return ctx.mrIid ? `${opts.mrPrefix}${ctx.mrIid}` : undefined;
      if (rule.event === 'tag') return ctx.tag;
      return ctx.event === 'merge_request' || !ctx.branch ? undefined : slug(ctx.branch);
    case 'semver':
      return ctx.tag && semver
        ? expandSemver(rule.pattern ?? '{{version}}', semver, rule.allowZero === true)
        : undefined;
    case 'sha':
      if (!ctx.sha) return undefined;
      return rule.format === 'long' ? ctx.sha : ctx.sha.slice(0, opts.shaLength);
    case 'schedule':
      return ctx.event === 'schedule' ? expandTemplate(rule.pattern ?? 'nightly', ctx, opts) : undefined;
    case 'raw':
      return expandTemplate(rule.value ?? '', ctx, opts);
  }
}

/** Fits prefix + value + suffix into 128 characters by shortening the value. */
function fit(prefix: string, value: string, suffix: string): string {
  const room = 128 - prefix.length - suffix.length;
  const v = value.length > room ? value.slice(0, Math.max(room, 0)).replace(/[-.]+$/, '') : value;
  return `${prefix}${v}${suffix}`;
}

export function computeTags(ctx: CiContext, rules: TagRule[], opts: TagOptions): TagResult {
  const semver = ctx.tag ? parseSemver(ctx.tag) : undefined;
  const tags: string[] = [];
  const add = (t: string, rule: string) => {
    if (!TAG_RE.test(t))
      throw new TagRuleError(
        `tag rule '${rule}' produced '${t}', which is not a valid tag (letters, digits, '_', '.', '-'; ≤128; not starting with '.' or '-')`,
        { rule },
      );
    if (!tags.includes(t)) tags.push(t);
  };
  for (const rule of rules) {
    if (!enabled(rule, ctx)) continue;
    const v = valueFor(rule, ctx, opts, semver);
    if (v === undefined || v === '') continue;
    add(fit(rule.prefix, v, rule.suffix), rule.source);
  }
  const isPrerelease = semver?.prerelease !== undefined;
  const wantsLatest =
    opts.latest === 'auto'
      ? ctx.isDefaultBranch
      : opts.latest === 'true'
        ? ctx.event !== 'merge_request' && !isPrerelease && (ctx.isDefaultBranch || semver !== undefined)
        : false;
  if (wantsLatest) add('latest', 'latest');
  return { tags, version: tags[0] ?? '', semver };
}

export interface LabelOptions {
  version: string;
  extra: string[];
}

/** OCI image labels; `created` from the commit time so rebuilds are reproducible. */
export function computeLabels(ctx: CiContext, opts: LabelOptions): Record<string, string> {
  const labels: Record<string, string> = {};
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== '') labels[`org.opencontainers.image.${k}`] = v;
  };
  set('created', ctx.commitTime ? new Date(ctx.commitTime).toISOString() : undefined);
  set('revision', ctx.sha);
  set('source', ctx.projectUrl);
  set('url', ctx.projectUrl);
  set('title', ctx.projectTitle);
  set('version', opts.version);
  for (const line of opts.extra) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new TagRuleError(`label '${line}' is not key=value`, { label: line });
    labels[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return labels;
}
