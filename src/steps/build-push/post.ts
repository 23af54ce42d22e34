// post / after_script: removes what main saved as temporary, if main could not. Only what
// state recorded and has the shape of what main creates: containers and images named
// `shipline-build-push-<10 hex>…`, the private docker config directory and the work
// directory (labelled Dockerfile, 0600 secret files) under the job's temp dir (after
// realpath). Anything else in the state is ignored with a warning.
import { rmSync } from 'node:fs';
import { Docker } from '../../lib/docker/docker';
import { ownedPath } from '../../lib/util/paths';
import { removeTemporaries, temporaries, TEMP_SHAPES, type StepCtx } from './main';

const names = (list: unknown, shape: RegExp): { ok: string[]; refused: string[] } => {
  const items = Array.isArray(list) ? list : [];
  const ok = items.filter((x): x is string => typeof x === 'string' && shape.test(x));
  return { ok, refused: items.filter((x) => !ok.includes(x as string)).map(String) };
};

export async function cleanup(ctx: StepCtx): Promise<void> {
  const temps = temporaries(ctx).get();
  if (!temps) return;
  const containers = names(temps.containers, TEMP_SHAPES.container);
  const images = names(temps.images, TEMP_SHAPES.image);
  const refused = [...containers.refused, ...images.refused];
  if (temps.configDir !== undefined) {
    const dir = ownedPath(ctx.tempDir, temps.configDir, TEMP_SHAPES.configDir);
    if (dir) rmSync(dir, { recursive: true, force: true });
    else refused.push(String(temps.configDir));
  }
  if (temps.workDir !== undefined) {
    const dir = ownedPath(ctx.tempDir, temps.workDir, TEMP_SHAPES.workDir);
    if (dir) rmSync(dir, { recursive: true, force: true });
    else refused.push(String(temps.workDir));
  }
  if (refused.length) ctx.log.warn(`ignoring recorded names this step does not create: ${refused.join(', ')}`);
  const docker = new Docker({ env: ctx.env, cwd: ctx.workspace });
  const leftover: string[] = [];
  for (const c of containers.ok)
    if ((await docker.run(['container', 'inspect', c], { allowFailure: true })).code === 0) leftover.push(c);
  for (const i of images.ok) if (await docker.imageExists(i)) leftover.push(i);
  if (leftover.length === 0) {
    temporaries(ctx).clear();
    return;
  }
  ctx.log.info(`removing leftovers: ${leftover.join(', ')}`);
  const done = await removeTemporaries(ctx, docker, {
    containers: containers.ok.filter((c) => leftover.includes(c)),
    images: images.ok.filter((i) => leftover.includes(i)),
    pulled: [],
  });
  if (done) temporaries(ctx).clear();
}
