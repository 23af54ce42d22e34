// Tag rules: a CI context in, image tags out. Zero network calls. A rule line means what it
// means to docker/metadata-action (`type=ref,event=branch`, `type=semver,pattern=…`, CSV
// quoting, priorities, the `flavor` lines); with no rule at all, shipline's defaults apply:
// MR -> MR-<iid>, default branch -> <short-sha> + latest, other branch -> <branch-slug>,
// release tag -> the tag.
import type { CiContext } from './context';
import { csvFields } from './csv';
import {
  anchorShaLength,
  DATE_EXPRESSIONS,
  GLOBAL_EXPRESSIONS,
  globalScope,
  shortSha,
  type Clock,
} from './expressions';
import { NO_FLAVOR, type Flavor } from './flavor';
import { cleanPep440, isPep440Special, parsePep440 } from './pep440';
import { parseSemver } from './semver';
import { compileTemplate, isOnly, renderTemplate, type Scope, type Template } from './template';
import { TAG_RE } from '../registry/reference';
import { isShiplineError, ShiplineError } from '../util/errors';

export type RuleType = 'schedule' | 'semver' | 'pep440' | 'match' | 'edge' | 'ref' | 'raw' | 'sha';
type Builtin = 'mr' | 'branch' | 'sha' | 'tag';

export interface TagRule {
  type: RuleType;
  /** ref: branch | tag | pr, and shipline's mr (the request with the MR prefix). */
  event?: 'branch' | 'tag' | 'pr' | 'mr';
  /** schedule, semver, pep440: the pattern template. */
  pattern?: Template;
  /** match: the pattern as a regular expression (`/re/flags` or plain). */
  regex?: RegExp;
  /** semver, pep440: match= (its first group is the version). */
  match?: RegExp;
  group?: number;
  value?: Template;
  /** edge: the branch ('' = the default branch). */
  branch?: string;
  /** Undefined: not written, so the flavor's applies. */
  prefix?: Template;
  suffix?: Template;
  /** ref,event=mr without prefix=: the MR prefix option. */
  mrPrefix?: boolean;
  enable: Template;
  priority: number;
  format?: 'short' | 'long';
  /** One of shipline's default rules (no rule written). */
  builtin?: Builtin;
  /** The rule line as written, for errors. */
  source: string;
}

export interface TagOptions {
  /** Prefix of shipline's MR tags (default rules and type=ref,event=mr). */
  mrPrefix: string;
  /** Length of the short sha of shipline's default rules. */
  shaLength: number;
  /** Shipline's latest option: auto (default rules: the default branch; written rules: the flavor's rule), true, false. */
  latest: 'auto' | 'true' | 'false';
  flavor?: Flavor;
  /** The run's clock, for {{date}} (injectable for tests). */
  now?: Date;
}

export interface TagResult {
  /** Tag names: the version first, then the others in priority order, then latest. */
  tags: string[];
  /** The main version: the first tag ('' when no rule gave one). */
  version: string;
  latest: boolean;
  /** What a rule skipped and why (not a valid semver, a pattern that does not match…). */
  warnings: string[];
}

/** A tag rule, flavor or label line that does not parse, or a rule producing an invalid tag. */
export class TagRuleError extends ShiplineError {
  constructor(
    message: string,
    data: { rule: string } | { label: string } | { annotation: string } | { flavor: string },
  ) {
    super(message, { kind: 'invalid', data });
    this.name = 'TagRuleError';
  }
}

const TYPES: RuleType[] = ['schedule', 'semver', 'pep440', 'match', 'edge', 'ref', 'raw', 'sha'];
export const DEFAULT_PRIORITY: Record<RuleType, number> = {
  schedule: 1000,
  semver: 900,
  pep440: 900,
  match: 800,
  edge: 700,
  ref: 600,
  raw: 200,
  sha: 100,
};
const COMMON = ['type', 'enable', 'priority', 'prefix', 'suffix'];
const ATTRS: Record<RuleType, string[]> = {
  schedule: ['pattern'],
  semver: ['pattern', 'value', 'match'],
  pep440: ['pattern', 'value', 'match'],
  match: ['pattern', 'group', 'value'],
  edge: ['branch'],
  ref: ['event'],
  raw: ['value'],
  sha: ['format'],
};
const SEMVER_EXPRESSIONS = ['raw', 'version', 'major', 'minor', 'patch', 'prerelease', 'build'];
const PEP440_EXPRESSIONS = ['raw', 'version', 'major', 'minor', 'patch'];

/** The line `defaults` in a rule list stands for shipline's default rules. */
export const DEFAULTS_LINE = 'defaults';

function builtinRules(): TagRule[] {
  const t = compileTemplate('true', []);
  const mk = (builtin: Builtin, type: RuleType): TagRule => ({
    type,
    builtin,
    enable: t,
    priority: DEFAULT_PRIORITY[type],
    source: `${DEFAULTS_LINE} (${builtin})`,
  });
  return [mk('mr', 'ref'), mk('branch', 'ref'), mk('sha', 'sha'), mk('tag', 'ref')];
}

/** Parses rule lines; none, or only `defaults` lines, mean shipline's default rules. */
export function parseRules(lines: string[]): TagRule[] {
  const out: TagRule[] = [];
  for (const line of lines.length ? lines : [DEFAULTS_LINE]) {
    if (line.trim() === DEFAULTS_LINE) out.push(...builtinRules());
    else out.push(parseRule(line));
  }
  return out;
}

function compileIn(line: string, source: string, names: readonly string[], what: string): Template {
  try {
    return compileTemplate(source, names, what);
  } catch (err) {
    throw new TagRuleError(`tag rule '${line}': ${isShiplineError(err) ? err.message : String(err)}`, { rule: line });
  }
}

function regexOf(line: string, source: string, what: string): RegExp {
  const lit = /^\/(.+)\/(.*)$/s.exec(source);
  try {
    return lit && what === 'pattern' ? new RegExp(lit[1]!, lit[2]) : new RegExp(source);
  } catch (err) {
    throw new TagRuleError(
      `tag rule '${line}': ${what}='${source}' is not a regular expression (${(err as Error).message})`,
      {
        rule: line,
      },
    );
  }
}

const groupCount = (re: RegExp) => new RegExp(`${re.source}|`).exec('')!.length - 1;

export function parseRule(input: string): TagRule {
  const line = input.trim();
  const bad = (why: string) => new TagRuleError(`tag rule '${line}': ${why}`, { rule: line });
  let fields: string[];
  try {
    fields = csvFields(line);
  } catch (err) {
    throw bad(isShiplineError(err) ? err.message : String(err));
  }
  const attrs = new Map<string, string>();
  let type: RuleType = 'raw';
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) {
      // A field without key= is the value (metadata-action's `type=raw,foo` and bare `foo`).
      attrs.set('value', field.trim());
      continue;
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim();
    if (key === 'type') {
      if (!TYPES.includes(value as RuleType)) throw bad(`type '${value}' is unknown (use ${TYPES.join(', ')})`);
      type = value as RuleType;
    } else attrs.set(key, value);
  }
  const allowed = [...COMMON, ...ATTRS[type]];
  for (const key of attrs.keys()) {
    if (!allowed.includes(key))
      throw bad(
        key === 'value' && !line.includes('value=')
          ? `type=${type} takes no bare value ('${attrs.get('value')}'); its attributes: ${allowed.join(', ')}`
          : `'${key}' does not apply to type=${type} (its attributes: ${allowed.join(', ')})`,
      );
  }
  const global = (s: string, what: string) => compileIn(line, s, GLOBAL_EXPRESSIONS, what);
  const priority = attrs.get('priority');
  if (priority !== undefined && !/^[-+]?\d+$/.test(priority)) throw bad(`priority='${priority}' is not a whole number`);
  const rule: TagRule = {
    type,
    enable: global(attrs.get('enable') ?? 'true', 'in enable='),
    priority: priority !== undefined ? Number(priority) : DEFAULT_PRIORITY[type],
    source: line,
  };
  const prefix = attrs.get('prefix');
  const suffix = attrs.get('suffix');
  if (prefix !== undefined) rule.prefix = global(prefix, 'in prefix=');
  if (suffix !== undefined) rule.suffix = global(suffix, 'in suffix=');
  const value = attrs.get('value');
  const pattern = attrs.get('pattern');
  switch (type) {
    case 'schedule':
      rule.pattern = compileIn(line, pattern ?? 'nightly', DATE_EXPRESSIONS, 'in a schedule pattern');
      break;
    case 'semver':
    case 'pep440': {
      if (pattern === undefined)
        throw bad(`type=${type} needs pattern= (e.g. {{version}}, {{major}}.{{minor}}, {{major}})`);
      rule.pattern = compileIn(
        line,
        pattern,
        type === 'semver' ? SEMVER_EXPRESSIONS : PEP440_EXPRESSIONS,
        `in a ${type} pattern`,
      );
      if (value) rule.value = global(value, 'in value=');
      const match = attrs.get('match');
      if (match) {
        rule.match = regexOf(line, match, 'match');
        if (groupCount(rule.match) < 1) throw bad(`match='${match}' needs a group, e.g. v(\\d+\\.\\d+\\.\\d+)$`);
      }
      break;
    }
    case 'match': {
      if (pattern === undefined) throw bad('type=match needs pattern= (a regular expression, e.g. v(.*))');
      rule.regex = regexOf(line, pattern, 'pattern');
      const group = attrs.get('group') ?? '0';
      if (!/^\d+$/.test(group)) throw bad(`group='${group}' is not a group number`);
      rule.group = Number(group);
      if (value) rule.value = global(value, 'in value=');
      break;
    }
    case 'edge':
      rule.branch = attrs.get('branch') ?? '';
      break;
    case 'ref': {
      const ev = attrs.get('event');
      if (ev !== 'branch' && ev !== 'tag' && ev !== 'pr' && ev !== 'mr')
        throw bad(
          ev === undefined
            ? 'type=ref needs event=branch, event=tag, event=pr (or event=mr)'
            : `event='${ev}' (use branch, tag, pr or mr)`,
        );
      rule.event = ev;
      if (ev === 'pr' && prefix === undefined) rule.prefix = compileTemplate('pr-', []);
      if (ev === 'mr' && prefix === undefined) rule.mrPrefix = true;
      break;
    }
    case 'raw':
      if (value === undefined) throw bad('type=raw needs a value (type=raw,value=<tag> or type=raw,<tag>)');
      rule.value = global(value, 'in value=');
      break;
    case 'sha': {
      const f = attrs.get('format') ?? 'short';
      if (f !== 'short' && f !== 'long') throw bad(`format='${f}' (use short or long)`);
      rule.format = f;
      if (prefix === undefined) rule.prefix = compileTemplate('sha-', []);
      break;
    }
  }
  return rule;
}

/** metadata-action's sanitising: every run of characters a tag cannot hold becomes '-'. */
export const sanitizeTag = (tag: string) => tag.replace(/[^a-zA-Z0-9._-]+/g, '-');

/** A tag-safe slug: lowercase, invalid characters to '-', no leading '.'/'-'. */
export function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+/, '')
    .replace(/-+$/, '');
}

interface Produced {
  value: string;
  /** Whether this rule asks for latest under latest=auto. */
  latest: boolean;
}

class Evaluator {
  readonly warnings: string[] = [];
  private readonly scope: Scope;
  constructor(
    private readonly ctx: CiContext,
    private readonly opts: TagOptions,
    clock: Clock,
  ) {
    this.scope = globalScope(ctx, clock);
  }

  render(rule: TagRule, t: Template, scope: Scope = this.scope): string {
    try {
      return renderTemplate(t, scope);
    } catch (err) {
      if (isShiplineError(err) && err.kind === 'input') throw err;
      throw new TagRuleError(`tag rule '${rule.source}': ${isShiplineError(err) ? err.message : String(err)}`, {
        rule: rule.source,
      });
    }
  }

  enabled(rule: TagRule): boolean {
    const v = this.render(rule, rule.enable);
    if (v !== 'true' && v !== 'false')
      throw new TagRuleError(`tag rule '${rule.source}': enable= gives '${v}' (it must give true or false)`, {
        rule: rule.source,
      });
    return v === 'true';
  }

  /** The version text a semver/pep440/match rule reads: value=, else the pushed tag. */
  private versionSource(rule: TagRule): string | undefined {
    if (rule.value) return this.render(rule, rule.value);
    return this.ctx.anchor.refKind === 'tag' ? this.ctx.anchor.refName : undefined;
  }

  private matched(rule: TagRule, raw: string): string | undefined {
    if (!rule.match) return raw;
    const m = raw.match(rule.match);
    if (!m || m[1] === undefined) {
      this.warnings.push(`${rule.source}: match= does not match '${raw}'`);
      return undefined;
    }
    return m[1];
  }

  produce(rule: TagRule): Produced | undefined {
    const a = this.ctx.anchor;
    const ctx = this.ctx;
    switch (rule.builtin) {
      case 'mr':
        return ctx.mrIid ? { value: `${this.opts.mrPrefix}${ctx.mrIid}`, latest: false } : undefined;
      case 'branch':
        return ctx.event !== 'merge_request' && ctx.branch && !ctx.isDefaultBranch
          ? { value: slug(ctx.branch), latest: false }
          : undefined;
      case 'sha':
        return ctx.isDefaultBranch && ctx.sha
          ? { value: ctx.sha.slice(0, this.opts.shaLength), latest: true }
          : undefined;
      case 'tag':
        return ctx.tag ? { value: ctx.tag, latest: true } : undefined;
    }
    switch (rule.type) {
      case 'schedule':
        if (!/schedule/.test(a.eventName)) return undefined;
        return { value: this.render(rule, rule.pattern!, this.scope), latest: false };
      case 'semver': {
        const src = this.versionSource(rule);
        if (src === undefined) return undefined;
        const raw = this.matched(rule, src)?.replace(/\//g, '-');
        if (raw === undefined) return undefined;
        const v = parseSemver(raw);
        if (!v) {
          this.warnings.push(`${rule.source}: '${raw}' is not a valid semver (https://semver.org)`);
          return undefined;
        }
        const scope: Scope = {
          raw: v.raw,
          version: v.version,
          major: v.major,
          minor: v.minor,
          patch: v.patch,
          prerelease: v.prerelease.join(','),
          build: v.build.join(','),
        };
        // A prerelease only ever gets its own version (or {{raw}}): floating tags never move to it.
        if (v.prerelease.length)
          return {
            value: isOnly(rule.pattern!, 'raw') ? this.render(rule, rule.pattern!, scope) : v.version,
            latest: false,
          };
        return { value: this.render(rule, rule.pattern!, scope), latest: true };
      }
      case 'pep440': {
        const src = this.versionSource(rule);
        if (src === undefined) return undefined;
        const raw = this.matched(rule, src)?.replace(/\//g, '-');
        if (raw === undefined) return undefined;
        const v = parsePep440(raw);
        if (!v) {
          this.warnings.push(`${rule.source}: '${raw}' does not conform to PEP 440`);
          return undefined;
        }
        if (isPep440Special(v)) return { value: isOnly(rule.pattern!, 'raw') ? raw : cleanPep440(v), latest: false };
        const scope: Scope = {
          raw,
          version: cleanPep440(v),
          major: v.release[0] ?? 0,
          minor: v.release[1] ?? 0,
          patch: v.release[2] ?? 0,
        };
        return { value: this.render(rule, rule.pattern!, scope), latest: true };
      }
      case 'match': {
        const src = this.versionSource(rule);
        if (src === undefined) return undefined;
        const m = src.match(rule.regex!);
        if (!m) {
          this.warnings.push(`${rule.source}: pattern does not match '${src}'`);
          return undefined;
        }
        const g = m[rule.group ?? 0];
        if (g === undefined) {
          this.warnings.push(
            `${rule.source}: group ${rule.group} does not exist or did not take part in the match of '${src}'`,
          );
          return undefined;
        }
        return { value: g, latest: true };
      }
      case 'edge': {
        if (a.refKind !== 'branch') return undefined;
        return a.refName === (rule.branch || a.defaultBranch) ? { value: 'edge', latest: false } : undefined;
      }
      case 'ref':
        if (rule.event === 'branch') return a.refKind === 'branch' ? { value: a.refName, latest: false } : undefined;
        if (rule.event === 'tag') return a.refKind === 'tag' ? { value: a.refName, latest: true } : undefined;
        return a.refKind === 'pr' ? { value: a.refName, latest: false } : undefined;
      case 'raw':
        return { value: this.render(rule, rule.value!), latest: false };
      case 'sha':
        if (!a.sha) return undefined;
        return {
          value: rule.format === 'long' ? a.sha : shortSha(a.sha, anchorShaLength(ctx)),
          latest: false,
        };
    }
  }

  affixes(rule: TagRule): [string, string] {
    const flavor = this.opts.flavor ?? NO_FLAVOR;
    const prefix = rule.mrPrefix
      ? this.opts.mrPrefix
      : rule.prefix
        ? this.render(rule, rule.prefix)
        : flavor.prefix
          ? this.render(rule, flavor.prefix)
          : '';
    const suffix = rule.suffix ? this.render(rule, rule.suffix) : flavor.suffix ? this.render(rule, flavor.suffix) : '';
    return [prefix, suffix];
  }
}

/**
 * prefix + value + suffix as a valid tag: sanitised like metadata-action, then (where
 * metadata-action would hand docker an invalid reference) shortened to 128 characters by
 * the value, and rid of a leading '.'/'-' that came from the CI context. A tag the user's
 * own text makes invalid is an error.
 */
function finish(rule: TagRule, prefix: string, value: string, suffix: string): string | undefined {
  let v = value;
  let tag = sanitizeTag(prefix + v + suffix);
  if (tag === '') return undefined;
  while (tag.length > 128 && v !== '') {
    v = v.slice(0, Math.max(0, v.length - (tag.length - 128))).replace(/[-.]+$/, '');
    tag = sanitizeTag(prefix + v + suffix);
  }
  const fromContext = rule.type !== 'raw' && rule.type !== 'schedule';
  if (/^[.-]/.test(tag) && fromContext && prefix === '') tag = tag.replace(/^[.-]+/, '');
  if (tag === '') return undefined;
  if (!TAG_RE.test(tag))
    throw new TagRuleError(
      `tag rule '${rule.source}' produced '${tag.length > 140 ? `${tag.slice(0, 140)}…` : tag}', which is not a valid tag (letters, digits, '_', '.', '-'; ≤128; not starting with '.' or '-')`,
      { rule: rule.source },
    );
  return tag;
}

export function computeTags(ctx: CiContext, rules: TagRule[], opts: TagOptions): TagResult {
  const flavor = opts.flavor ?? NO_FLAVOR;
  const clock = { now: opts.now ?? new Date() };
  const ev = new Evaluator(ctx, opts, clock);
  const defaultsOnly = rules.every((r) => r.builtin);
  if (flavor.latest !== undefined && opts.latest !== 'auto' && flavor.latest !== opts.latest)
    throw new TagRuleError(`flavor latest=${flavor.latest} contradicts latest: ${opts.latest} (set one of them)`, {
      flavor: `latest=${flavor.latest}`,
    });
  const latestMode = flavor.latest ?? opts.latest;
  // Highest priority first; equal priorities keep their order (a stable sort).
  const sorted = defaultsOnly ? rules : [...rules].sort((x, y) => y.priority - x.priority);
  let main: string | undefined;
  const others: string[] = [];
  let latest: boolean | undefined;
  for (const rule of sorted) {
    if (!ev.enabled(rule)) continue;
    const p = ev.produce(rule);
    if (!p || p.value === '') continue;
    const [prefix, suffix] = ev.affixes(rule);
    const tag = finish(rule, prefix, p.value, suffix);
    if (tag === undefined) continue;
    if (main === undefined) main = tag;
    else if (tag !== main && !others.includes(tag)) others.push(tag);
    latest ??= latestMode === 'auto' ? p.latest : latestMode === 'true';
  }
  if (defaultsOnly) {
    // shipline's rule: latest on the default branch; with `true` also on final release tags.
    const isPrerelease = ctx.tag !== undefined && (parseSemver(ctx.tag)?.prerelease.length ?? 0) > 0;
    latest =
      latestMode === 'auto'
        ? ctx.isDefaultBranch
        : latestMode === 'true'
          ? ctx.event !== 'merge_request' &&
            !isPrerelease &&
            (ctx.isDefaultBranch || (ctx.tag !== undefined && parseSemver(ctx.tag) !== undefined))
          : false;
  }
  const tags = main === undefined ? [] : [main, ...others];
  if (latest && main !== undefined) {
    const render = (t: Template | undefined) => (t ? ev.render({ source: 'flavor' } as TagRule, t) : '');
    const name = sanitizeTag(
      `${flavor.prefixLatest ? render(flavor.prefix) : ''}latest${flavor.suffixLatest ? render(flavor.suffix) : ''}`,
    );
    if (!TAG_RE.test(name))
      throw new TagRuleError(`flavor makes the latest tag '${name}', which is not a valid tag`, { flavor: name });
    if (!tags.includes(name)) tags.push(name);
  }
  return { tags, version: main ?? '', latest: latest === true && main !== undefined, warnings: ev.warnings };
}
