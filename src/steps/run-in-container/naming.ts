// Container names unique per job: loaded after input validation (node:crypto costs start-up).
import { createHash } from 'node:crypto';
import type { CiContext } from '../../lib/ci/context';

/**
 * The job's owner id: a short hash of everything that tells two jobs on one engine apart
 * (CI job id, project, workspace, runner). Same value in main and post of one job.
 */
export function ownerId(ci: Pick<CiContext, 'jobId' | 'projectPath' | 'pipelineId'>, workspace: string, env: Readonly<Record<string, string | undefined>>): string {
  const parts = [ci.jobId ?? '', ci.pipelineId ?? '', ci.projectPath ?? '', workspace, env.RUNNER_NAME ?? '', env.CI_RUNNER_ID ?? ''];
  // Outside CI there is no job id: the process's parent shell tells two local runs apart only by workspace.
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 10);
}

/** Default container name: `shipline-<job id>-<owner hash>`, valid for docker ([a-zA-Z0-9][a-zA-Z0-9_.-]*). */
export function defaultName(jobId: string | undefined, owner: string): string {
  const id = (jobId ?? 'local').replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 40);
  return `shipline-${id}-${owner}`;
}
