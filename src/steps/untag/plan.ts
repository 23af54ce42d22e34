// Turns untag inputs into the repository, the tags to remove and the method. Pure: no
// network; every input error (a malformed tag, a protected one, nothing to remove) is an
// InputError (exit 2) raised here, before anything is asked of a registry.
import { formatReference, parseReference, type ImageRef } from '../../lib/registry/reference';
import { referenceProblem, registryHostProblem } from '../shared/registry';
import { parseEcrHost } from '../../lib/registry/ecr-host';
import { InputError } from '../../runtime/inputs';
import type { Inputs } from './index';

export type Method = Exclude<Inputs['method'], 'auto'>;

/**
 * The default of input `protected`: `latest` and release-looking tags (`v1`, `v1.2.3`,
 * `v2.0.0-rc.1`, `1.2`, `1.2.3`, `10.4.1-alpine`). A bare number (`123`, a short sha of
 * digits only) is not protected.
 */
export const DEFAULT_PROTECTED = ['latest', 'v[0-9]*', '[0-9]*.[0-9]*'];

export interface UntagPlan {
  /** The repository (registry + path), without tag. */
  repo: ImageRef;
  /** Tags to remove, each once, in the order given (the image's own tag first). */
  tags: string[];
}

/** `check` of a reference input without a digest. */
export const checkImage = (value: string): string | undefined =>
  referenceProblem(value, { allowDigest: false }) ??
  registryHostProblem(value, parseReference(value, { allowDigest: false }).registry);

const PATTERN_RE = /^[A-Za-z0-9_.*?[\]-]{1,128}$/;

/** `check` of protected: a tag, or a glob of one (`*`, `?`, `[0-9]`-style classes). */
export function checkPattern(value: string): string | undefined {
  if (!PATTERN_RE.test(value) || !globRegExp(value))
    return `'${value}' is not a tag or tag pattern (tag characters with '*', '?' and classes like [0-9])`;
  return undefined;
}

/** A glob as an anchored RegExp: `*` any run, `?` one character, `[…]` a class; undefined when a class is unclosed. */
export function globRegExp(glob: string): RegExp | undefined {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end <= i + 1) return undefined;
      re += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === ']') return undefined;
    else re += ch.replace(/[.\\^$+(){}|]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    return undefined; // a class the RegExp refuses, e.g. a range out of order ([9-0])
  }
}

/** The first pattern of `protectedTags` that `tag` matches, or undefined. */
export function protectedBy(tag: string, protectedTags: readonly string[]): string | undefined {
  return protectedTags.find((p) => globRegExp(p)?.test(tag));
}

export function planUntag(inputs: Pick<Inputs, 'image' | 'tags' | 'protected'>): UntagPlan {
  const ref = parseReference(inputs.image, { allowDigest: false });
  const repo: ImageRef = { registry: ref.registry, repository: ref.repository, tag: undefined, digest: undefined };
  const tags = [...new Set([...(ref.tag ? [ref.tag] : []), ...inputs.tags])];
  if (tags.length === 0) {
    throw new InputError(
      'tags',
      `no tag to remove from ${formatReference(repo)}`,
      'give tags (on GitLab the default is MR-$CI_MERGE_REQUEST_IID, set in merge request pipelines only), or a tag in image',
    );
  }
  const refused = tags.flatMap((t) => {
    const by = protectedBy(t, inputs.protected);
    return by ? [`'${t}' (matches '${by}')`] : [];
  });
  if (refused.length) {
    const [input, where] = ref.tag && protectedBy(ref.tag, inputs.protected) ? ['image', 'image'] : ['tags', 'tags'];
    throw new InputError(
      input,
      `refusing to remove protected ${refused.length === 1 ? 'tag' : 'tags'} ${refused.join(', ')} from ${formatReference(repo)}`,
      `protected tags are never removed; take them out of ${where}, or set input protected to a list that does not match them`,
    );
  }
  return { repo, tags };
}

/** auto: ECR's API for an ECR host, the registry API otherwise. */
export function chooseMethod(method: Inputs['method'], repo: ImageRef): Method {
  if (method !== 'auto') return method;
  return parseEcrHost(repo.registry) ? 'ecr-api' : 'registry';
}
