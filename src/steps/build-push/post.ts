// post / after_script: removes what main saved as temporary, if main could not.
import { rmSync } from 'node:fs';
import { Docker } from '../../lib/docker/docker';
import { removeTemporaries, temporaries, type StepCtx } from './main';

export async function cleanup(ctx: StepCtx): Promise<void> {
  const temps = temporaries(ctx).get();
  if (!temps) return;
  if (temps.configDir) rmSync(temps.configDir, { recursive: true, force: true });
  const docker = new Docker({ env: ctx.env, cwd: ctx.workspace });
  const leftover: string[] = [];
  for (const c of temps.containers)
    if ((await docker.run(['container', 'inspect', c], { allowFailure: true })).code === 0) leftover.push(c);
  for (const i of temps.images) if (await docker.imageExists(i)) leftover.push(i);
  if (leftover.length === 0) return;
  ctx.log.info(`removing leftovers: ${leftover.join(', ')}`);
  await removeTemporaries(ctx, docker, {
    containers: temps.containers.filter((c) => leftover.includes(c)),
    images: temps.images.filter((i) => leftover.includes(i)),
    pulled: [],
  });
}
