// Turns build-push's inputs and the CI context into one checked plan, before any docker
// call: the Dockerfile exists, target/smoke-target are real stages, every reference is
// valid, extract items are well formed. Every problem is an InputError (exit 2).
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { CiContext } from '../../lib/ci/context';
import { planTags, type TagInputValues } from '../../lib/ci/tag-inputs';
import { TagRuleError } from '../../lib/ci/tags';
import { checkTarget, readStages, type Stage } from '../../lib/docker/dockerfile';
import { parseExtract, type ExtractItem } from '../../lib/docker/build';
import { parseReference, ReferenceError, repositoryName } from '../../lib/registry/reference';
import { InputError } from '../../lib/util/errors';

export interface BuildPushInputs extends TagInputValues {
  context: string;
  file: string | undefined;
  target: string | undefined;
  buildArgs: string[];
  refs: string[];
  push: boolean;
  pull: boolean;
  cacheFrom: string[];
  cacheTo: string[];
  platforms: string[];
  builder: string;
  smokeTarget: string | undefined;
  extract: string[];
  username: string | undefined;
  password: string | undefined;
  loginRegistry: string[];
}

export interface BuildPlan {
  context: string;
  file: string;
  stages: Stage[];
  target: string | undefined;
  smokeTarget: string | undefined;
  buildArgs: string[];
  labels: Record<string, string>;
  /** Full references to tag and (with push) push, in order. */
  refs: string[];
  tags: string[];
  push: boolean;
  pull: boolean;
  cacheFrom: string[];
  /** cache-from came from the defaults (the image's own pipeline tags, then latest). */
  cacheFromDefault: boolean;
  cacheTo: string[];
  platforms: string[];
  builder: 'auto' | 'buildx' | 'docker';
  extract: ExtractItem[];
  login: { registries: string[]; username: string; password: string } | undefined;
}

const inWorkspace = (workspace: string, p: string) => (isAbsolute(p) ? p : resolve(workspace, p));

/** A full reference with a tag, normalised (`host/repo:tag`); InputError naming it otherwise. */
function checkRef(input: string, ref: string): string {
  try {
    const r = parseReference(ref, { allowDigest: false });
    if (!r.tag) throw new ReferenceError(`'${ref}' has no tag`);
    return `${repositoryName(r)}:${r.tag}`;
  } catch (err) {
    if (err instanceof ReferenceError) throw new InputError(input, err.message, 'give full references like registry.example.com/team/app:tag');
    throw err;
  }
}

/** The registry host of a reference as docker sees it. */
export function registryOf(ref: string): string {
  return parseReference(ref).registry;
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

export function planBuild(inputs: BuildPushInputs, ci: CiContext, workspace: string): BuildPlan {
  const context = inWorkspace(workspace, inputs.context);
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw new InputError('context', `build context directory not found: ${context}`, 'set context relative to the workspace (default .)');
  }
  const file = inputs.file ? inWorkspace(workspace, inputs.file) : join(context, 'Dockerfile');
  let stages: Stage[];
  try {
    stages = readStages(file);
  } catch (err) {
    throw new InputError('file', err instanceof Error ? err.message : String(err), `set 'file' (relative to the workspace; default <context>/Dockerfile)`);
  }
  if (inputs.target) checkTarget(stages, inputs.target, 'target', file);
  if (inputs.smokeTarget) checkTarget(stages, inputs.smokeTarget, 'smoke-target', file);

  let refs: string[] = [];
  let tags: string[] = [];
  let labels: Record<string, string> = {};
  try {
    const plan = planTags(ci, inputs);
    labels = plan.labels;
    if (inputs.images.length) {
      refs = plan.refs;
      tags = plan.tags;
    }
  } catch (err) {
    if (err instanceof TagRuleError) throw new InputError('tags', err.message);
    if (err instanceof ReferenceError) throw new InputError('images', err.message);
    throw err;
  }
  refs = refs.map((r) => checkRef('tags', r));
  for (const r of inputs.refs) {
    const ref = checkRef('refs', r);
    if (!refs.includes(ref)) refs.push(ref);
    const t = ref.slice(ref.lastIndexOf(':') + 1);
    if (!tags.includes(t)) tags.push(t);
  }
  if (inputs.push && refs.length === 0) {
    throw new InputError(
      'images',
      `nothing to push: ${inputs.images.length ? `no tag rule applies to this pipeline (${ci.provider}, event ${ci.event})` : 'no images and no refs were given'}`,
      inputs.images.length ? 'add a rule that applies (e.g. type=sha or type=raw,value=dev) or set push: false' : 'set images (GitLab default $CI_REGISTRY_IMAGE) or refs, or push: false',
    );
  }

  const builder = inputs.builder as BuildPlan['builder'];
  if (builder === 'docker' && inputs.platforms.length > 1) {
    throw new InputError('platforms', `the classic builder builds one platform, not ${inputs.platforms.join(', ')}`, 'use builder: buildx (or auto on a runner with buildx)');
  }
  if (builder === 'docker' && inputs.cacheTo.length) {
    throw new InputError('cache-to', 'the classic builder cannot export a cache', 'drop cache-to (the pushed image is the cache for --cache-from) or use builder: buildx');
  }

  const none = inputs.cacheFrom.length === 1 && inputs.cacheFrom[0] === 'none';
  const cacheFromDefault = inputs.cacheFrom.length === 0;
  let cacheFrom: string[];
  if (none) cacheFrom = [];
  else if (cacheFromDefault) cacheFrom = defaultCacheFrom(refs, ci, inputs.shaLength);
  else cacheFrom = inputs.cacheFrom.map((c) => (c.includes('=') ? c : checkRef('cache-from', c)));

  const extract = inputs.extract.map((item) => {
    try {
      const e = parseExtract(item);
      return { from: e.from, to: inWorkspace(workspace, e.to) };
    } catch (err) {
      throw new InputError('extract', err instanceof Error ? err.message : String(err), 'use lines like /src/deps.lock:deps.lock (path in the image : destination in the workspace)');
    }
  });

  let login: BuildPlan['login'];
  if (inputs.password) {
    if (!inputs.username) throw new InputError('username', 'is required when password is given');
    const registries = inputs.loginRegistry.length ? inputs.loginRegistry : [...new Set(refs.map(registryOf))];
    if (registries.length === 0) throw new InputError('login-registry', 'no registry to log in to', 'set login-registry or images/refs');
    login = { registries, username: inputs.username, password: inputs.password };
  }

  return {
    context,
    file,
    stages,
    target: inputs.target || undefined,
    smokeTarget: inputs.smokeTarget || undefined,
    buildArgs: inputs.buildArgs,
    labels,
    refs,
    tags,
    push: inputs.push,
    pull: inputs.pull,
    cacheFrom,
    cacheFromDefault,
    cacheTo: inputs.cacheTo,
    platforms: inputs.platforms,
    builder,
    extract,
    login,
  };
}
