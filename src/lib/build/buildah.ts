// buildah: `bud` and `push` command lines for a DaemonlessBuild, and the auth file passed with
// --authfile (a docker config JSON in a private temp dir, 0600). TLS verification is
// turned off only where every registry involved is a loopback one (plain HTTP there).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonlessBuild } from './daemonless';
import { isLoopbackRegistry, registryOf } from '../registry/reference';

export interface BudOptions {
  isolation: string;
  iidFile: string;
  authFile: string | undefined;
  /** Build this target instead of plan.target, untagged (the smoke build). */
  smoke?: boolean;
  /** `--network` for RUN steps (e.g. `host`). */
  network?: string | undefined;
}

/** --tls-verify=false only when the build pulls exclusively from loopback registries. */
export function budInsecure(plan: DaemonlessBuild): boolean {
  const regs = [...plan.pullRegistries, ...(plan.cache && plan.cacheRepo ? [registryOf(plan.cacheRepo) ?? ''] : [])];
  return regs.length > 0 && regs.every(isLoopbackRegistry);
}

export function budArgs(plan: DaemonlessBuild, o: BudOptions): string[] {
  const args = ['bud', '--isolation', o.isolation, '-f', plan.dockerfile, '--iidfile', o.iidFile];
  const target = o.smoke ? plan.smokeTarget : plan.target;
  if (target) args.push('--target', target);
  for (const a of plan.buildArgs) args.push('--build-arg', a);
  if (o.network) args.push('--network', o.network);
  if (!o.smoke) {
    for (const [k, v] of Object.entries(plan.labels)) args.push('--label', `${k}=${v}`);
    for (const ref of plan.refs) args.push('-t', ref);
  }
  if (plan.cache) {
    args.push('--layers');
    if (plan.cacheRepo) {
      args.push('--cache-from', plan.cacheRepo);
      if (!o.smoke && plan.push) args.push('--cache-to', plan.cacheRepo);
    }
  }
  if (o.authFile) args.push('--authfile', o.authFile);
  if (budInsecure(plan)) args.push('--tls-verify=false');
  args.push(plan.context);
  return args;
}

export function pushArgs(
  imageId: string,
  ref: string,
  o: { authFile: string | undefined; digestFile: string },
): string[] {
  const args = ['push', '--digestfile', o.digestFile];
  if (o.authFile) args.push('--authfile', o.authFile);
  if (isLoopbackRegistry(registryOf(ref) ?? '')) args.push('--tls-verify=false');
  args.push(imageId, `docker://${ref}`);
  return args;
}

/** A private directory for the auth file and the iid/digest files; removed with removeWorkDir. */
export function makeWorkDir(tempDir: string): string {
  return mkdtempSync(join(tempDir, 'shipline-kaniko-build-'));
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
