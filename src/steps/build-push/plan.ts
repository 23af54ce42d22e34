// Turns build-push's inputs and the CI context into one checked plan, before any docker
// call: the Dockerfile exists, target/smoke-target are real stages, every reference is
// valid, extract items are well formed. Every problem is an InputError (exit 2).
import type { CiContext } from '../../lib/ci/context';
import type { Stage } from '../../lib/docker/dockerfile';
import { parseExtract, type DockerBuild, type ExtractItem } from '../../lib/docker/build';
import { parseReference, ReferenceError, registryOf, repositoryName } from '../../lib/registry/reference';
import { errorMessage, isShiplineError } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';
import { planDockerfile, workspaceDestination } from '../shared/dockerfile';
import { isFullReference, planTags } from '../shared/tag-inputs';
import type { Inputs } from './index';

/** What every build of the step shares (the smoke build and the target build differ in target, tags, cache). */
export interface BuildPushPlan extends Pick<
  DockerBuild,
  'context' | 'file' | 'buildArgs' | 'labels' | 'pull' | 'network' | 'cacheFrom' | 'cacheTo' | 'platforms'
> {
  stages: Stage[];
  target: string | undefined;
  smokeTarget: string | undefined;
  /** Full references to tag and (with push) push, in order. */
  refs: string[];
  push: boolean;
  builder: Inputs['builder'];
  extract: ExtractItem[];
  login: { registries: string[]; username: string; password: string } | undefined;
}

/** Shorter credentials cannot be masked in a log (each character would be); they are refused. */
export const MIN_CREDENTIAL = 4;

/** `check` of the password input (the value is never shown). */
export const credentialCheck = (v: string): string | undefined =>
  v.trim().length > 0 && v.trim().length < MIN_CREDENTIAL
    ? `is shorter than ${MIN_CREDENTIAL} characters: a value that short cannot be masked in the log`
    : undefined;

/** `check` of cache-to: a buildx `type=…` export, never something docker would read as an option. */
export function cacheToCheck(v: string): string | undefined {
  return /^type=[a-z0-9-]+(,|$)/.test(v) ? undefined : `'${v}' is not a buildx cache export (type=…)`;
}

/** `check` of the refs and cache-from inputs: a full reference with a tag (or a buildx `type=…` source, or `none`). */
export function refCheck(v: string): string | undefined {
  if (v === 'none') return undefined; // cache-from none
  if (v.includes('=')) return cacheToCheck(v) && `'${v}' is not a reference or a buildx cache source (type=…)`;
  try {
    if (!parseReference(v, { allowDigest: false }).tag) return `'${v}' has no tag`;
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** A full reference with a tag, normalised (`host/repo:tag`); InputError naming it otherwise. */
function checkRef(input: string, ref: string): string {
  try {
    const r = parseReference(ref, { allowDigest: false });
    if (!r.tag) throw new ReferenceError(`'${ref}' has no tag`);
    return `${repositoryName(r)}:${r.tag}`;
  } catch (err) {
    if (err instanceof ReferenceError)
      throw new InputError(input, err.message, 'give full references like registry.example.com/team/app:tag');
    throw err;
  }
}

/**
 * Default cache sources: the tags this pipeline pushes that move (MR-<iid>, a branch
 * slug — not the commit's own sha, which cannot exist yet), then `latest`, per image.
 */
export function defaultCacheFrom(refs: string[], ci: CiContext, shaLength: number): string[] {
  const sha = ci.sha?.slice(0, shaLength);
  const out: string[] = [];
  for (const ref of refs) {
    const tag = ref.slice(ref.lastIndexOf(':') + 1);
    if (tag !== sha && tag !== ci.sha) out.push(ref);
  }
  for (const ref of refs) out.push(`${ref.slice(0, ref.lastIndexOf(':'))}:latest`);
  return [...new Set(out)];
}

export function planBuild(inputs: Inputs, ci: CiContext, workspace: string): BuildPushPlan {
  const { context, file, stages } = planDockerfile(workspace, inputs);

  // Full references among the tags (metadata-action's output) are pushed as they are; the
  // other lines are rules applied to the images.
  const given = inputs.tags.filter(isFullReference);
  const rules = inputs.tags.filter((t) => !isFullReference(t));
  const tagPlan = planTags(ci, { ...inputs, tags: given.length && rules.length === 0 ? ['defaults'] : rules });
  const fromRules = inputs.images.length && !(given.length && rules.length === 0) ? tagPlan.refs : [];
  const refs = [...new Set([...fromRules, ...given].map((r) => checkRef('tags', r)))];
  for (const r of inputs.refs) {
    const ref = checkRef('refs', r);
    if (!refs.includes(ref)) refs.push(ref);
  }
  if (inputs.push && refs.length === 0) {
    throw new InputError(
      'images',
      `nothing to push: ${inputs.images.length ? `no tag rule applies to this pipeline (${ci.provider}, event ${ci.event})` : 'no images and no refs were given'}`,
      inputs.images.length
        ? 'add a rule that applies (e.g. type=sha or type=raw,value=dev) or set push: false'
        : 'set images (GitLab default $CI_REGISTRY_IMAGE) or refs, or push: false',
    );
  }

  const { builder } = inputs;
  if (builder === 'docker' && inputs.platforms.length > 1) {
    throw new InputError(
      'platforms',
      `the classic builder builds one platform, not ${inputs.platforms.join(', ')}`,
      'use builder: buildx (or auto on a runner with buildx)',
    );
  }
  if (builder === 'docker' && inputs.cacheTo.length) {
    throw new InputError(
      'cache-to',
      'the classic builder cannot export a cache',
      'drop cache-to (the pushed image is the cache for --cache-from) or use builder: buildx',
    );
  }

  let cacheFrom: string[];
  if (inputs.cacheFrom.length === 1 && inputs.cacheFrom[0] === 'none') cacheFrom = [];
  else if (inputs.cacheFrom.length === 0) cacheFrom = defaultCacheFrom(refs, ci, inputs.shaLength);
  else cacheFrom = inputs.cacheFrom.map((c) => (c.includes('=') ? c : checkRef('cache-from', c)));

  const extract = inputs.extract.map((item) => {
    let e: ExtractItem;
    try {
      e = parseExtract(item);
    } catch (err) {
      if (!isShiplineError(err)) throw err;
      throw new InputError(
        'extract',
        err.message,
        'use lines like /src/deps.lock:deps.lock (path in the image : destination in the workspace)',
      );
    }
    return { from: e.from, to: workspaceDestination('extract', workspace, e.to) };
  });

  let login: BuildPushPlan['login'];
  if (inputs.password) {
    if (!inputs.username) throw new InputError('username', 'is required when password is given');
    const short = credentialCheck(inputs.password);
    if (short) throw new InputError('password', short, 'give the registry password or token itself');
    const registries = inputs.loginRegistry.length
      ? inputs.loginRegistry
      : [...new Set(refs.map(registryOf).filter((r) => r !== undefined))];
    if (registries.length === 0)
      throw new InputError('login-registry', 'no registry to log in to', 'set login-registry or images/refs');
    login = { registries, username: inputs.username, password: inputs.password };
  }

  return {
    context,
    file,
    stages,
    target: inputs.target || undefined,
    smokeTarget: inputs.smokeTarget || undefined,
    buildArgs: inputs.buildArgs,
    labels: tagPlan.labels,
    refs,
    push: inputs.push,
    pull: inputs.pull,
    network: inputs.network,
    cacheFrom,
    cacheTo: inputs.cacheTo,
    platforms: inputs.platforms,
    builder,
    extract,
    login,
  };
}
