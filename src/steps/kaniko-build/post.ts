// post / after_script: undoes the credentials main installed and removes its work dir,
// when main could not (it was killed, or the job was cancelled).
import { uninstallAuth } from '../../lib/build/registry-auth';
import { removeWorkDir } from '../../lib/build/buildah';
import { state, type StepCtx } from './main';

export async function cleanup(ctx: StepCtx): Promise<void> {
  const saved = state(ctx);
  const installed = saved.auth.get();
  if (installed) {
    if (uninstallAuth(installed)) ctx.log.info(`removed the registry credentials shipline added to ${installed.path}`);
    saved.auth.clear();
  }
  const dir = saved.workDir.get();
  if (dir) {
    removeWorkDir(dir);
    saved.workDir.clear();
  }
}
