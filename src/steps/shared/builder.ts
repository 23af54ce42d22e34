// Which builder runs for the two build steps' `builder` input: build-push picks buildx or
// the classic docker builder (or, for secrets and ssh without buildx, the docker CLI's own
// BuildKit), kaniko-build the kaniko executor or buildah. `auto` takes what the job has; a
// forced builder that is missing fails with what to do. Also build-push's flags beyond
// lib/docker/build.ts's DockerBuild (no-cache, hosts, limits, secrets, ssh) per builder.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { DaemonlessBuilder } from '../../lib/build/daemonless';
import type { Docker } from '../../lib/docker/docker';
import { buildCommand, type BuildCommand, type DockerBuild, type DockerBuilder } from '../../lib/docker/build';
import type { Env } from '../../lib/util/env';
import { ShiplineError } from '../../lib/util/errors';

/**
 * How build-push builds: `buildx`; `docker`, the classic builder (`DOCKER_BUILDKIT=0`);
 * `buildkit`, `DOCKER_BUILDKIT=1 docker build` with a docker CLI that has BuildKit built in
 * (docker ≤ 22, Debian's docker.io), used only when secrets or ssh need BuildKit and buildx
 * is missing (a docker CLI 23+ builds with BuildKit only through buildx).
 */
export type BuildMode = DockerBuilder | 'buildkit';

/** Whether `docker build` can use BuildKit without buildx: `DOCKER_BUILDKIT=1 docker build --help` lists `--secret`. */
export async function hasBuiltinBuildKit(docker: Docker): Promise<boolean> {
  const r = await docker
    .run(['build', '--help'], { extraEnv: { DOCKER_BUILDKIT: '1' }, allowFailure: true, timeoutMs: 20_000 })
    .catch(() => undefined);
  return r !== undefined && r.code === 0 && /--secret\b/.test(r.stdout);
}

/**
 * build-push: buildx when `docker buildx` answers (or is asked for), else the classic
 * builder; with `needsBuildKit` (secrets, ssh) and no buildx, the docker CLI's own BuildKit
 * when it has one, else an error saying what to install.
 */
export async function chooseDockerBuilder(
  docker: Docker,
  wanted: 'auto' | DockerBuilder,
  platforms: string[],
  opts: { needsBuildKit?: string[] } = {},
): Promise<BuildMode> {
  const needs = opts.needsBuildKit ?? [];
  const classic = async (): Promise<BuildMode> => {
    if (needs.length === 0) return 'docker';
    if (await hasBuiltinBuildKit(docker)) return 'buildkit';
    throw new ShiplineError(
      `${needs.join(', ')} need${needs.length === 1 ? 's' : ''} BuildKit: neither buildx nor a docker CLI with built-in BuildKit is here`,
      {
        hint: 'install the buildx plugin (docker CLI 23+ builds with BuildKit only through it), or drop those inputs',
        data: { inputs: needs },
      },
    );
  };
  if (wanted === 'docker') return classic();
  const buildx = await docker.hasBuildx();
  if (wanted === 'buildx' && !buildx) {
    throw new ShiplineError("builder 'buildx' was asked for but 'docker buildx' is not available", {
      hint: 'install the buildx plugin, or use builder: auto (falls back to the classic builder)',
    });
  }
  if (!buildx && platforms.length > 1) {
    throw new ShiplineError(`building ${platforms.join(', ')} needs buildx, which this runner lacks`, {
      hint: 'install the buildx plugin or build one platform',
    });
  }
  return buildx ? 'buildx' : classic();
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(env: Env, cmd: string): boolean {
  return (env.PATH ?? '').split(delimiter).some((d) => d !== '' && isExecutable(join(d, cmd)));
}

/** kaniko-build: the kaniko executor when it is there (a kaniko image), else buildah on PATH. */
export function chooseDaemonlessBuilder(
  wanted: 'auto' | DaemonlessBuilder,
  executor: string,
  env: Env,
): DaemonlessBuilder {
  const hasKaniko = isExecutable(executor);
  if (wanted === 'kaniko' || (wanted === 'auto' && hasKaniko)) {
    if (!hasKaniko)
      throw new ShiplineError(`the kaniko executor ${executor} is missing or not executable`, {
        hint: "run the job in a kaniko image (or one that copies /kaniko from it), set 'executor', or use builder: buildah",
      });
    return 'kaniko';
  }
  if (!onPath(env, 'buildah')) {
    throw new ShiplineError(
      wanted === 'buildah'
        ? "'buildah' was not found on PATH"
        : `no daemonless builder found: ${executor} is missing and 'buildah' is not on PATH`,
      {
        hint: 'run the job in an image with buildah (e.g. quay.io/buildah/stable plus node) or kaniko (/kaniko/executor)',
      },
    );
  }
  return 'buildah';
}

/** build-push's options beyond DockerBuild, passed as the builder's flags. */
export interface BuildFlags {
  noCache: boolean;
  addHosts: string[];
  shmSize: string | undefined;
  ulimits: string[];
  cgroupParent: string | undefined;
  /** `--secret` values (`id=…,src=…` / `id=…,env=…`), BuildKit only. */
  secrets: string[];
  /** `--ssh` values, BuildKit only. */
  ssh: string[];
}

/** One CSV field as buildx and docker read `--secret`: quoted when it holds a comma or a quote. */
export const csvField = (f: string): string => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);

/**
 * The argv and environment of one build: lib/docker/build.ts's command for the builder, with
 * build-push's further flags before the context argument; for `buildkit`, the classic
 * command run with `DOCKER_BUILDKIT=1`, plain progress, and inline cache metadata in the
 * image (as buildx's default `cache-to: type=inline`), so the pushed image is the next cache.
 */
export function buildArgv(mode: BuildMode, spec: DockerBuild, flags: BuildFlags): BuildCommand {
  const extra = [
    ...(flags.noCache ? ['--no-cache'] : []),
    ...flags.addHosts.flatMap((h) => ['--add-host', h]),
    ...(flags.shmSize ? ['--shm-size', flags.shmSize] : []),
    ...flags.ulimits.flatMap((u) => ['--ulimit', u]),
    ...(flags.cgroupParent ? ['--cgroup-parent', flags.cgroupParent] : []),
  ];
  if (mode !== 'docker') {
    extra.push(...flags.secrets.flatMap((s) => ['--secret', s]), ...flags.ssh.flatMap((s) => ['--ssh', s]));
  } else if (flags.secrets.length || flags.ssh.length) {
    throw new ShiplineError('secrets and ssh need BuildKit, not the classic builder', { kind: 'bug' });
  }
  const base = buildCommand(mode === 'buildx' ? 'buildx' : 'docker', spec);
  const args = [...base.args];
  const context = args.pop()!;
  if (mode === 'buildkit') {
    args.splice(1, 0, '--progress', 'plain');
    args.push('--build-arg', 'BUILDKIT_INLINE_CACHE=1');
  }
  return { args: [...args, ...extra, context], env: mode === 'buildkit' ? { DOCKER_BUILDKIT: '1' } : base.env };
}
