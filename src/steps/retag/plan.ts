// Turns retag inputs into targets (new tags in the source repository and full references
// elsewhere) and the method. Pure: no network, testable without a process; every input
// error is an InputError (exit 2) raised here.
import { formatReference, parseReference, ReferenceError, type ImageRef } from '../../lib/registry/reference';
import { referenceProblem, registryHostProblem } from '../shared/registry';
import { InputError } from '../../runtime/inputs';
import { parseEcrHost } from '../../lib/registry/ecr-host';
import type { Target } from '../../lib/registry/promote';
import type { Inputs } from './index';

export type Method = Exclude<Inputs['method'], 'auto'>;

export function checkSource(value: string): string | undefined {
  try {
    const r = parseReference(value);
    if (!r.tag && !r.digest)
      return `'${value}' names no tag or digest; give e.g. registry.example.com/team/app:1a2b3c4d or …@sha256:<hex>`;
    return registryHostProblem(value, r.registry);
  } catch (e) {
    return e instanceof ReferenceError ? e.message : String(e);
  }
}

/** `check` of a reference input without a digest. */
export const checkDestination = (value: string): string | undefined =>
  referenceProblem(value, { allowDigest: false }) ??
  registryHostProblem(value, parseReference(value, { allowDigest: false }).registry);

export function planTargets(inputs: Pick<Inputs, 'source' | 'tags' | 'destinations'>): {
  source: ImageRef;
  targets: Target[];
} {
  const source = parseReference(inputs.source);
  const targets: Target[] = [];
  const seen = new Set<string>();
  const add = (ref: ImageRef & { tag: string }) => {
    const key = formatReference(ref);
    if (seen.has(key)) return;
    seen.add(key);
    targets.push({ ref, sameRepo: ref.registry === source.registry && ref.repository === source.repository });
  };
  for (const tag of inputs.tags)
    add({ registry: source.registry, repository: source.repository, tag, digest: undefined });
  for (const d of inputs.destinations) {
    const ref = parseReference(d, { allowDigest: false });
    const tag = ref.tag ?? source.tag;
    if (!tag)
      throw new InputError(
        'destinations',
        `'${d}' has no tag and the source is given by digest only`,
        'give each destination a tag, e.g. registry.example.com/prod/app:1.0.0',
      );
    add({ ...ref, tag });
  }
  if (targets.length === 0) {
    throw new InputError(
      'tags',
      'no tag and no destination given: nothing to promote',
      'give tags (e.g. the release tag) and/or destinations; on GitLab the default tag is $CI_COMMIT_TAG, set in tag pipelines only',
    );
  }
  return { source, targets };
}

/** auto: ECR's API for an ECR host when every target stays in the source repository; the registry API otherwise. */
export function chooseMethod(method: Inputs['method'], source: ImageRef, targets: Target[]): Method {
  if (method === 'ecr-api') {
    const away = targets.find((t) => !t.sameRepo);
    if (away)
      throw new InputError(
        'method',
        `ecr-api retags within one repository, but destination ${formatReference(away.ref)} is elsewhere`,
        "use method 'registry' (or 'auto') to copy to other repositories",
      );
    return 'ecr-api';
  }
  if (method === 'registry') return 'registry';
  return parseEcrHost(source.registry) && targets.every((t) => t.sameRepo) ? 'ecr-api' : 'registry';
}
