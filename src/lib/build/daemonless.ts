// One builder-neutral description of a daemonless build, that kaniko.ts and buildah.ts
// translate into their own flags, and the registries it talks to.
import type { Stage } from '../docker/dockerfile';
import { isLoopbackRegistry, registryOf } from '../registry/reference';

export type DaemonlessBuilder = 'kaniko' | 'buildah';

export interface DaemonlessBuild {
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

/** The distinct registries of some references (unparsable ones skipped). */
export function registriesOf(refs: string[]): string[] {
  return [...new Set(refs.map(registryOf).filter((r): r is string => r !== undefined))];
}

/** Every registry the build talks to, pulls first. */
export function allRegistries(build: DaemonlessBuild): string[] {
  return [...new Set([...build.pullRegistries, ...build.pushRegistries])];
}

export function loopbackRegistries(build: DaemonlessBuild): string[] {
  return allRegistries(build).filter(isLoopbackRegistry);
}
