// The build context, Dockerfile and stage inputs of the two build steps, checked before
// anything runs: the context is a directory, the Dockerfile exists and has stages,
// `target` and `smoke-target` are among them. Every problem is an InputError (exit 2).
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { checkTarget, readStages, type Stage } from '../../lib/docker/dockerfile';
import { isShiplineError } from '../../lib/util/errors';
import { resolveInside } from '../../lib/util/paths';
import { InputError } from '../../runtime/inputs';

export interface DockerfileInputs {
  context: string;
  file: string | undefined;
  target: string | undefined;
  smokeTarget: string | undefined;
}

export interface DockerfilePlan {
  /** Absolute build context directory. */
  context: string;
  /** Absolute Dockerfile path. */
  file: string;
  stages: Stage[];
}

/** A workspace-relative path made absolute. */
export const inWorkspace = (workspace: string, p: string): string => (isAbsolute(p) ? p : resolve(workspace, p));

/**
 * A destination a user names (extract, copy-out), relative to the workspace: its real path
 * when it lies under the workspace after every symlink is resolved (`../x`, an absolute
 * path elsewhere, or a link in the checkout pointing out are refused), else an InputError
 * naming the input (exit 2). Called again right before writing: an earlier copy may have
 * put a link in the way.
 */
export function workspaceDestination(
  input: string,
  workspace: string,
  p: string,
  opts: { allowRoot?: boolean } = {},
): string {
  const real = resolveInside(workspace, p, opts);
  if (real === undefined)
    throw new InputError(
      input,
      `'${p}' is outside the workspace${isAbsolute(p) ? '' : ' (after resolving symlinks)'}`,
      'give a path relative to the workspace, e.g. out/deps.lock, that no symlink leads out of',
    );
  return real;
}

function stage(stages: Stage[], target: string, input: string, file: string): void {
  try {
    checkTarget(stages, target, file);
  } catch (err) {
    if (isShiplineError(err) && err.kind === 'not-found') throw new InputError(input, err.message, err.hint);
    throw err;
  }
}

export function planDockerfile(workspace: string, inputs: DockerfileInputs): DockerfilePlan {
  const context = inWorkspace(workspace, inputs.context);
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw new InputError(
      'context',
      `build context directory not found: ${context}`,
      'set context relative to the workspace (default .)',
    );
  }
  const file = inputs.file ? inWorkspace(workspace, inputs.file) : join(context, 'Dockerfile');
  let stages: Stage[];
  try {
    stages = readStages(file);
  } catch (err) {
    if (isShiplineError(err))
      throw new InputError('file', err.message, "set 'file' (relative to the workspace; default <context>/Dockerfile)");
    throw err;
  }
  if (inputs.target) stage(stages, inputs.target, 'target', file);
  if (inputs.smokeTarget) stage(stages, inputs.smokeTarget, 'smoke-target', file);
  return { context, file, stages };
}
