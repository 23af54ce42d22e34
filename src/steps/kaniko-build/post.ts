// post / after_script: undoes the credentials main installed and removes its work dir,
// when main could not (it was killed, or the job was cancelled). Only what state recorded
// and this step makes: the work dir under the job's temp dir with its name shape (after
// realpath), and credentials only in the file main writes them to (inside that work dir
// for buildah, the executor's config.json for kaniko).
import { basename } from 'node:path';
import { uninstallAuth } from '../../lib/build/registry-auth';
import { removeWorkDir } from '../../lib/build/buildah';
import { kanikoConfigDir, kanikoConfigPath } from '../../lib/build/kaniko';
import { ownedPath, resolveInside } from '../../lib/util/paths';
import { state, WORK_DIR_SHAPE, type StepCtx } from './main';

export async function cleanup(ctx: StepCtx): Promise<void> {
  const saved = state(ctx);
  const recordedDir = saved.workDir.get();
  const workDir = recordedDir === undefined ? undefined : ownedPath(ctx.tempDir, recordedDir, WORK_DIR_SHAPE);
  const installed = saved.auth.get();
  if (installed) {
    const path = typeof installed.path === 'string' ? installed.path : '';
    const kanikoPath = kanikoConfigPath(kanikoConfigDir(ctx.env, ctx.inputs.kanikoConfigDir));
    const inWorkDir =
      workDir !== undefined && basename(path) === 'auth.json' && resolveInside(workDir, path) !== undefined;
    if (inWorkDir || (path !== '' && path === kanikoPath)) {
      if (uninstallAuth(installed)) ctx.log.info(`removed the registry credentials shipline added to ${path}`);
    } else ctx.log.warn(`not touching ${path || '(no path)'}: it is not a file this step writes credentials to`);
    saved.auth.clear();
  }
  if (recordedDir !== undefined) {
    if (workDir) removeWorkDir(workDir);
    else
      ctx.log.warn(`not removing ${String(recordedDir)}: it is not a directory this step created under ${ctx.tempDir}`);
    saved.workDir.clear();
  }
}
