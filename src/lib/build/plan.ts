// One builder-neutral description of a build (what build-push's inputs mean), checked
// before anything runs, that kaniko.ts and buildah.ts translate into their own flags.
import { isAbsolute, join, resolve } from 'node:path';
import { checkTarget, readStages, type Stage } from '../docker/dockerfile';
import { isLoopbackRegistry, registryOf } from './registry-auth';

export interface BuildPlan {
  /** Absolute build context directory. */
  context: string;
  /** Absolute Dockerfile path. */
  dockerfile: string;
  target: string | undefined;
  smokeTarget: string | undefined;
  /** NAME=value, in input order. */
  buildArgs: string[];
  /** Full references to tag (and push), image by image. */
  refs: string[];
  labels: Record<string, string>;
  cache: boolean;
  cacheRepo: string | undefined;
  push: boolean;
  /** Registries the FROM lines pull from (resolvable ones only). */
  pullRegistries: string[];
  /** Registries pushed to (destinations and the cache repository). */
  pushRegistries: string[];
}

export interface PlanInputs {
  workspace: string;
  context: string;
  file: string | undefined;
  target: string | undefined;
  smokeTarget: string | undefined;
  buildArgs: string[];
  refs: string[];
  labels: Record<string, string>;
  cache: boolean;
  cacheRepo: string | undefined;
  push: boolean;
}

const within = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));

/** Base images a Dockerfile pulls: not earlier stages, not scratch, variables resolved from build args. */
export function baseImages(stages: Stage[], buildArgs: string[]): string[] {
  const args = new Map<string, string>();
  for (const a of buildArgs) {
    const i = a.indexOf('=');
    if (i > 0) args.set(a.slice(0, i), a.slice(i + 1));
  }
  const names = new Set<string>();
  const out: string[] = [];
  for (const s of stages) {
    const base = s.base.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, n: string) => args.get(n) ?? m);
    if (!base.includes('$') && base.toLowerCase() !== 'scratch' && !names.has(base.toLowerCase())) out.push(base);
    if (s.name) names.add(s.name);
  }
  return [...new Set(out)];
}

/** Validates the Dockerfile and stages (exit 2 on a problem) and returns the plan. */
export function makePlan(i: PlanInputs): BuildPlan {
  const context = within(i.workspace, i.context);
  const dockerfile = i.file ? within(i.workspace, i.file) : join(context, 'Dockerfile');
  const stages = readStages(dockerfile);
  if (i.target) checkTarget(stages, i.target, 'target', dockerfile);
  if (i.smokeTarget) checkTarget(stages, i.smokeTarget, 'smoke-target', dockerfile);
  const regs = (refs: string[]) => [...new Set(refs.map(registryOf).filter((r): r is string => r !== undefined))];
  return {
    context,
    dockerfile,
    target: i.target,
    smokeTarget: i.smokeTarget,
    buildArgs: i.buildArgs,
    refs: i.refs,
    labels: i.labels,
    cache: i.cache,
    cacheRepo: i.cacheRepo,
    push: i.push,
    pullRegistries: regs(baseImages(stages, i.buildArgs)),
    pushRegistries: regs(i.cacheRepo ? [...i.refs, i.cacheRepo] : i.refs),
  };
}

/** Every registry the build talks to, pulls first. */
export function allRegistries(plan: BuildPlan): string[] {
  return [...new Set([...plan.pullRegistries, ...plan.pushRegistries])];
}

export function loopbackRegistries(plan: BuildPlan): string[] {
  return allRegistries(plan).filter(isLoopbackRegistry);
}
