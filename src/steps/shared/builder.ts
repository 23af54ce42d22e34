// Which builder runs for the two build steps' `builder` input: build-push picks buildx or
// the classic docker builder, kaniko-build the kaniko executor or buildah. `auto` takes
// what the job has; a forced builder that is missing fails with what to do.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { DaemonlessBuilder } from '../../lib/build/daemonless';
import type { Docker } from '../../lib/docker/docker';
import type { DockerBuilder } from '../../lib/docker/build';
import type { Env } from '../../lib/util/env';
import { ShiplineError } from '../../lib/util/errors';

/** build-push: buildx when `docker buildx` answers (or is asked for), else the classic builder. */
export async function chooseDockerBuilder(
  docker: Docker,
  wanted: 'auto' | DockerBuilder,
  platforms: string[],
): Promise<DockerBuilder> {
  if (wanted === 'docker') return 'docker';
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
  return buildx ? 'buildx' : 'docker';
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
