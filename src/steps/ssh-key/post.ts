// ssh-key cleanup: stop the agent main started, remove the private directory. Only what
// state recorded and this job made: the agent only while its pid still runs the command
// line with the start time main saw, the directory only under the job's temp dir with the
// name shape main gives it.
import { rmSync } from 'node:fs';
import { stopAgent } from '../../lib/ssh/setup';
import { ownedPath } from '../../lib/util/paths';
import { agentRecord, KEY_DIR_SHAPE, keyDir, type StepCtx } from './main';

export async function post(ctx: StepCtx): Promise<void> {
  const agent = agentRecord(ctx).get();
  if (agent !== undefined) {
    const result = stopAgent(agent);
    if (result === 'signalled') ctx.log.info(`stopped ssh-agent ${agent.pid}`);
    else if (result === 'not-ours')
      ctx.log.warn(`not signalling pid ${String(agent.pid)}: it is not the ssh-agent this step started`);
    agentRecord(ctx).clear();
  }
  const recorded = keyDir(ctx).get();
  if (recorded === undefined) return;
  const dir = ownedPath(ctx.tempDir, recorded, KEY_DIR_SHAPE);
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
    ctx.log.info(`removed ${dir}`);
  } else ctx.log.warn(`not removing ${String(recorded)}: it is not a directory this step created under ${ctx.tempDir}`);
  keyDir(ctx).clear();
}
