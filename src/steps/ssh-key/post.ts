// ssh-key cleanup: stop the agent main started, remove the private directory.
import { rmSync } from 'node:fs';
import { stopAgent } from '../../lib/ssh/setup';
import { agentPid, keyDir, type StepCtx } from './main';

export async function post(ctx: StepCtx): Promise<void> {
  const pid = agentPid(ctx).get();
  if (pid !== undefined && Number.isInteger(pid) && pid > 0 && stopAgent(pid)) ctx.log.info(`stopped ssh-agent ${pid}`);
  const dir = keyDir(ctx).get();
  if (dir && /shipline-ssh-[^/]+$/.test(dir)) {
    rmSync(dir, { recursive: true, force: true });
    ctx.log.info(`removed ${dir}`);
  }
}
