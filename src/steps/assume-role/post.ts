// assume-role's cleanup: the token or credentials file main wrote. The exported variables
// are the runtime's to remove. The recorded directory is removed only when it is one main
// makes (`shipline-aws-XXXXXX`) under the job's temp dir, after realpath: a state entry
// naming anything else is ignored.
import { rmSync } from 'node:fs';
import { ownedPath } from '../../lib/util/paths';
import { privateDir, type StepCtx } from './main';

/** The shape of the directory main creates with mkdtemp. */
const DIR_SHAPE = /^shipline-aws-[A-Za-z0-9]{6}$/;

export async function post(ctx: StepCtx): Promise<void> {
  const recorded = privateDir(ctx).get();
  if (recorded === undefined) return; // main wrote no file (or never ran)
  const dir = ownedPath(ctx.tempDir, recorded, DIR_SHAPE);
  privateDir(ctx).clear();
  if (!dir) {
    ctx.log.warn(`not removing ${String(recorded)}: it is not a directory this step created under ${ctx.tempDir}`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  ctx.log.info(`removed ${dir}`);
}
