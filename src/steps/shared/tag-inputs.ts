// The tag-rule inputs shared by image-tags, build-push and kaniko-build, and the one
// function that turns them into full image references and labels (a bad rule, label or
// image is an InputError naming its input).
import type { InputSpec, InputValues } from '../../runtime/define';
import type { CiContext } from '../../lib/ci/context';
import { computeLabels, computeTags, parseRule, parseRules, TagRuleError } from '../../lib/ci/tags';
import { normaliseRepository, ReferenceError } from '../../lib/registry/reference';
import { InputError } from '../../runtime/inputs';

const problem = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof TagRuleError || err instanceof ReferenceError) return err.message;
    throw err;
  }
};

export const TAG_INPUTS = {
  images: {
    type: 'list',
    description:
      'Image repositories to tag, without a tag (e.g. `registry.example.com/team/app`). The repository part is lowercased.',
    form: 'host[:port]/path without a tag, e.g. registry.example.com/team/app',
    check: (v: string) => problem(() => normaliseRepository(v)),
    gitlabDefault: '$CI_REGISTRY_IMAGE',
  },
  tags: {
    type: 'list',
    lines: true,
    description:
      'Tag rules, one per line, like docker/metadata-action: `type=ref,event=mr|branch|tag`, `type=semver,pattern={{version}}`, `type=sha,format=short|long`, `type=raw,value=…`, `type=schedule`, each with optional `prefix=`, `suffix=`, `enable=`. The line `defaults` stands for the default rules. Empty: the defaults (MR → `MR-<iid>`, default branch → `<short-sha>`, other branch → `<branch-slug>`, tag → the tag).',
    form: 'rule lines like type=ref,event=branch',
    check: (v: string) => (v.trim() === 'defaults' ? undefined : problem(() => parseRule(v))),
  },
  'mr-prefix': {
    description: 'Prefix of merge/pull request tags.',
    default: 'MR-',
    regex: '[A-Za-z0-9_][A-Za-z0-9_.-]*',
    form: 'tag characters',
  },
  'sha-length': {
    type: 'number',
    description: 'Length of short-sha tags (GitLab uses 8, git 7).',
    default: 8,
    regex: '[4-9]|[1-3][0-9]|40',
    form: 'a number from 4 to 40',
  },
  latest: {
    description:
      '`auto`: tag `latest` on the default branch; `true`: also on final (non-prerelease) release tags; `false`: never. Prereleases never get `latest`.',
    default: 'auto',
    options: ['auto', 'true', 'false'],
  },
  labels: {
    type: 'list',
    lines: true,
    description: 'Extra OCI labels, `key=value` per line; they override the generated ones.',
    form: 'key=value lines',
    check: (v: string) => (v.indexOf('=') > 0 ? undefined : `'${v}' is not key=value`),
  },
} as const satisfies Record<string, InputSpec>;

export type TagInputs = InputValues<typeof TAG_INPUTS>;

export interface TagPlan {
  /** Full references, image by image, tag by tag. */
  refs: string[];
  tags: string[];
  images: string[];
  version: string;
  labels: Record<string, string>;
}

export function planTags(ci: CiContext, inputs: TagInputs): TagPlan {
  try {
    const images = [...new Set(inputs.images.map(normaliseRepository))];
    const result = computeTags(ci, parseRules(inputs.tags), {
      mrPrefix: inputs.mrPrefix,
      shaLength: inputs.shaLength,
      latest: inputs.latest,
    });
    const refs = images.flatMap((image) => result.tags.map((t) => `${image}:${t}`));
    const labels = computeLabels(ci, { version: result.version, extra: inputs.labels });
    return { refs, tags: result.tags, images, version: result.version, labels };
  } catch (err) {
    if (err instanceof TagRuleError) throw new InputError('label' in err.data ? 'labels' : 'tags', err.message);
    if (err instanceof ReferenceError) throw new InputError('images', err.message);
    throw err;
  }
}
