// The kaniko executor: its command line for a DaemonlessBuild and where it reads registry
// credentials. Flags as the kaniko README documents them (--context, --dockerfile,
// repeated --destination, --target, --build-arg, --label, --cache/--cache-repo,
// --digest-file, --image-name-with-digest-file, --no-push, --insecure-registry,
// --cleanup); credentials in DOCKER_CONFIG/config.json, /kaniko/.docker/config.json in
// the kaniko images.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ShiplineError } from '../util/errors';
import { loopbackRegistries, type DaemonlessBuild } from './daemonless';
import type { Env } from '../util/env';

export const KANIKO_DEFAULT_CONFIG_DIR = '/kaniko/.docker';

/**
 * The directory whose config.json the executor reads, by kaniko's own rule: DOCKER_CONFIG
 * when it names an existing directory (the kaniko images set it to /kaniko/.docker/),
 * else /kaniko/.docker. An explicit directory wins; the executor is then started
 * with DOCKER_CONFIG set to it so both sides agree.
 */
export function kanikoConfigDir(env: Env, explicit?: string): string {
  if (explicit) return explicit;
  const d = env.DOCKER_CONFIG;
  if (d) {
    try {
      if (statSync(d).isDirectory()) return d.replace(/\/+$/, '') || '/';
    } catch {
      // a DOCKER_CONFIG that does not exist: kaniko falls back to its default too
    }
  }
  return KANIKO_DEFAULT_CONFIG_DIR;
}

export const kanikoConfigPath = (dir: string) => join(dir, 'config.json');

export interface KanikoFiles {
  digestFile: string;
  imageNameWithDigestFile: string;
}

const labelArgs = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `--label=${k}=${v}`);

/** argv of the main build (and push unless plan.push is false). */
export function kanikoArgs(plan: DaemonlessBuild, files: KanikoFiles): string[] {
  const args = [`--context=dir://${plan.context}`, `--dockerfile=${plan.dockerfile}`];
  for (const ref of plan.refs) args.push(`--destination=${ref}`);
  if (plan.target) args.push(`--target=${plan.target}`);
  for (const a of plan.buildArgs) args.push(`--build-arg=${a}`);
  args.push(...labelArgs(plan.labels));
  if (plan.cache) {
    args.push('--cache=true');
    if (plan.cacheRepo) args.push(`--cache-repo=${plan.cacheRepo}`);
  }
  // Loopback registries speak plain HTTP (a test bench, a sidecar registry).
  for (const r of loopbackRegistries(plan)) args.push(`--insecure-registry=${r}`);
  args.push(`--digest-file=${files.digestFile}`, `--image-name-with-digest-file=${files.imageNameWithDigestFile}`);
  if (!plan.push) args.push('--no-push');
  return args;
}

/**
 * argv of the smoke build: the smoke target only, nothing pushed, and --cleanup so the
 * executor's own filesystem is clean again for the main build in the same container.
 */
export function kanikoSmokeArgs(plan: DaemonlessBuild): string[] {
  if (!plan.smokeTarget) throw new ShiplineError('kanikoSmokeArgs needs a smoke target', { kind: 'bug' });
  const args = [`--context=dir://${plan.context}`, `--dockerfile=${plan.dockerfile}`, `--target=${plan.smokeTarget}`];
  for (const a of plan.buildArgs) args.push(`--build-arg=${a}`);
  for (const r of loopbackRegistries(plan)) args.push(`--insecure-registry=${r}`);
  args.push('--no-push', '--no-push-cache', '--cleanup');
  return args;
}
