// The build context, Dockerfile and stage inputs of the two build steps, checked before
// anything runs: the context is a directory, the Dockerfile exists and has stages,
// `target` and `smoke-target` are among them. Every problem is an InputError (exit 2).
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { checkTarget, readStages, type Stage } from '../../lib/docker/dockerfile';
import { isShiplineError } from '../../lib/util/errors';
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
