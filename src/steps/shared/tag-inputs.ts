// The tag-rule inputs shared by image-tags, build-push and kaniko-build, and the one
// function that turns them into full image references, labels and annotations (a bad rule,
// flavor, label or image is an InputError naming its input: exit 2).
import type { InputSpec, InputValues } from '../../runtime/define';
import type { CiContext } from '../../lib/ci/context';
import { csvFields } from '../../lib/ci/csv';
import { parseFlavor } from '../../lib/ci/flavor';
import { computeLabels, labelLineProblem } from '../../lib/ci/labels';
import { computeTags, DEFAULTS_LINE, parseRule, parseRules, TagRuleError } from '../../lib/ci/tags';
import { normaliseRepository, parseReference, ReferenceError } from '../../lib/registry/reference';
import { isShiplineError, ShiplineError } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';

const problem = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (isShiplineError(err)) return err.message;
    throw err;
  }
};

/** One `images` line: `name` (several comma-separated), or `name=<repo>,enable=true|false`. */
export function parseImageLine(line: string): { names: string[]; enable: boolean } {
  const fields = csvFields(line.trim()).map((f) => f.trim());
  const attrs = fields.filter((f) => f.includes('='));
  if (attrs.length === 0) return { names: fields.filter((f) => f !== ''), enable: true };
  let name = '';
  let enable = true;
  for (const f of fields) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? 'name' : f.slice(0, eq).trim().toLowerCase();
    const value = eq < 0 ? f : f.slice(eq + 1).trim();
    if (key === 'name') {
      if (name && value !== name) throw new ReferenceError(`'${line}' names two images; give one per line`);
      name = value;
    } else if (key === 'enable') {
      if (value !== 'true' && value !== 'false')
        throw new ReferenceError(`'${line}': enable='${value}' (use true or false)`);
      enable = value === 'true';
    } else throw new ReferenceError(`'${line}': '${key}' is not an image attribute (use name=, enable=)`);
  }
  if (!name) throw new ReferenceError(`'${line}' has no name=`);
  return { names: [name], enable };
}

export const TAG_INPUTS = {
  images: {
    type: 'list',
    lines: true,
    description:
      'Image repositories to tag, without a tag (e.g. `registry.example.com/team/app`), one per line or comma-separated; `name=<repo>,enable=false` lines like docker/metadata-action. The repository part is lowercased.',
    form: 'host[:port]/path without a tag, e.g. registry.example.com/team/app',
    check: (v: string) => problem(() => parseImageLine(v).names.forEach((n) => normaliseRepository(n))),
    gitlabDefault: '$CI_REGISTRY_IMAGE',
  },
  tags: {
    type: 'list',
    lines: true,
    description:
      "Tag rules, one per line, as docker/metadata-action's `tags`: `type=schedule|semver|pep440|match|edge|ref|raw|sha` with `pattern=`, `value=`, `match=`, `group=`, `branch=`, `event=branch|tag|pr|mr`, `format=short|long`, `prefix=`, `suffix=`, `enable=`, `priority=`, and the `{{…}}` expressions; a bare `<value>` is `type=raw`. Empty (or the line `defaults`): shipline's defaults (MR → `<mr-prefix><iid>`, default branch → `<short-sha>` + `latest`, other branch → `<branch-slug>`, tag → the tag). See Tag rules.",
    form: 'rule lines like type=ref,event=branch',
    check: (v: string) => (v.trim() === DEFAULTS_LINE ? undefined : problem(() => parseRule(v))),
  },
  flavor: {
    type: 'list',
    lines: true,
    description:
      "docker/metadata-action's `flavor`: `latest=auto|true|false`, `prefix=<text>[,onlatest=true]`, `suffix=<text>[,onlatest=true]` for every tag a rule without its own prefix/suffix makes.",
    form: 'lines like latest=false or prefix=dev-,onlatest=true',
    check: (v: string) => problem(() => parseFlavor([v])),
  },
  'mr-prefix': {
    description: 'Prefix of merge/pull request tags (the default rules and `type=ref,event=mr`).',
    default: 'MR-',
    regex: '[A-Za-z0-9_][A-Za-z0-9_.-]*',
    form: 'tag characters',
  },
  'sha-length': {
    type: 'number',
    description:
      'Length of the short sha of the default rules (GitLab uses 8, git 7). `type=sha` and `{{sha}}` use 7 like docker/metadata-action, or `DOCKER_METADATA_SHORT_SHA_LENGTH`.',
    default: 8,
    regex: '[4-9]|[1-3][0-9]|40',
    form: 'a number from 4 to 40',
  },
  latest: {
    description:
      '`auto`: with no rule, `latest` on the default branch; with rules, as docker/metadata-action (`flavor` `latest=auto`). `true`: with no rule, also on final (non-prerelease) release tags; with rules, always. `false`: never.',
    default: 'auto',
    options: ['auto', 'true', 'false'],
  },
  labels: {
    type: 'list',
    lines: true,
    description: 'Extra OCI labels, `key=value` per line (expressions allowed); they override the generated ones.',
    form: 'key=value lines',
    check: labelLineProblem,
  },
} as const satisfies Record<string, InputSpec>;

export type TagInputs = InputValues<typeof TAG_INPUTS>;

/**
 * A `tags` line that is a full image reference (`registry.example.com/team/app:1.2`, as
 * docker/metadata-action's `tags` output holds), not a rule: no `=`, and a reference with a tag.
 */
export function isFullReference(line: string): boolean {
  const l = line.trim();
  if (l.includes('=') || !l.includes(':')) return false;
  try {
    return parseReference(l).tag !== undefined;
  } catch {
    return false;
  }
}

/** The `tags` input of a build step: rule lines, or full references pushed as they are. */
export const BUILD_TAGS_INPUT = {
  ...TAG_INPUTS.tags,
  description: `${TAG_INPUTS.tags.description} Lines that are full references (\`registry.example.com/team/app:1.2\`, e.g. docker/metadata-action's \`tags\` output) are pushed as they are, like docker/build-push-action's \`tags\`.`,
  form: 'rule lines like type=ref,event=branch, or full references',
  check: (v: string) => (isFullReference(v) ? undefined : TAG_INPUTS.tags.check(v)),
} as const;

export interface TagPlan {
  /** Full references, image by image, tag by tag. */
  refs: string[];
  tags: string[];
  images: string[];
  version: string;
  /** A latest tag is among `tags` (the last one). */
  latest: boolean;
  /** `key` → `value`, sorted by key. */
  labels: Record<string, string>;
  /** The generated annotations plus `annotations` lines, without their level (`key` → `value`). */
  annotations: Record<string, string>;
  /** Rules that did not apply and why (for the log). */
  warnings: string[];
}

function wordError(err: unknown): never {
  if (isShiplineError(err) && err.kind !== 'input' && typeof err.data.flavor === 'string')
    throw new InputError('flavor', err.message);
  if (err instanceof TagRuleError) {
    const d = err.data;
    const input = 'label' in d ? 'labels' : 'annotation' in d ? 'annotations' : 'flavor' in d ? 'flavor' : 'tags';
    throw new InputError(input, err.message);
  }
  if (err instanceof ReferenceError) throw new InputError('images', err.message);
  if (isShiplineError(err) && err.kind === 'input') throw err;
  if (isShiplineError(err) && err.kind === 'invalid') throw new InputError('tags', err.message);
  throw err;
}

/** Full references, labels and annotations from the tag inputs; `annotations` lines as image-tags' input. */
export function planTags(ci: CiContext, inputs: TagInputs, opts: { annotations?: string[]; now?: Date } = {}): TagPlan {
  try {
    const images: string[] = [];
    for (const line of inputs.images) {
      const img = parseImageLine(line);
      if (img.enable) for (const n of img.names) images.push(normaliseRepository(n));
    }
    const unique = [...new Set(images)];
    const now = opts.now ?? new Date();
    const result = computeTags(ci, parseRules(inputs.tags), {
      mrPrefix: inputs.mrPrefix,
      shaLength: inputs.shaLength,
      latest: inputs.latest,
      flavor: parseFlavor(inputs.flavor),
      now,
    });
    const refs = unique.flatMap((image) => result.tags.map((t) => `${image}:${t}`));
    const labels = computeLabels(ci, { version: result.version, extra: inputs.labels, now });
    const annotations = computeLabels(ci, {
      version: result.version,
      extra: opts.annotations ?? [],
      kind: 'annotation',
      now,
    });
    return {
      refs,
      tags: result.tags,
      images: unique,
      version: result.version,
      latest: result.latest,
      labels: Object.fromEntries(labels),
      annotations: Object.fromEntries(annotations),
      warnings: result.warnings,
    };
  } catch (err) {
    wordError(err);
  }
}

/** A DOCKER_METADATA_* variable with a value shipline cannot use (exit 2). */
export function variableError(name: string, value: string, use: string): ShiplineError {
  return new ShiplineError(`${name}='${value}' is not valid`, { kind: 'input', hint: use, data: { variable: name } });
}
