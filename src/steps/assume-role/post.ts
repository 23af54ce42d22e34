// assume-role's cleanup: the token or credentials file main wrote. The exported variables
// are the runtime's to remove.
import { rmSync } from 'node:fs';
import { privateDir, type StepCtx } from './main';

export async function post(ctx: StepCtx): Promise<void> {
  const dir = privateDir(ctx).get();
  if (!dir) return; // main wrote no file (or never ran)
  rmSync(dir, { recursive: true, force: true });
  privateDir(ctx).clear();
  ctx.log.info(`removed ${dir}`);
}
