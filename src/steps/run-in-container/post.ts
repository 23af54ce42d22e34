// run-in-container cleanup: remove this job's container, whatever main got to.
import { started, load, type StepCtx } from './main';

export async function post(ctx: StepCtx): Promise<void> {
  const { Docker, defaultName, ownerId, removeOwned } = await load();
  // The owner id and default name are recomputed from the job, so a state file another
  // job overwrote (a shared checkout dir) can never make this job remove a foreign container.
  const owner = ownerId(ctx.ci, ctx.workspace, ctx.env);
  const names = new Set<string>();
  const saved = started(ctx).get();
  if (saved?.name && saved.owner === owner) names.add(saved.name);
  const { mode } = ctx.inputs;
  if (mode === 'run' || mode === 'start') names.add(ctx.inputs.name ?? defaultName(ctx.ci.jobId, owner));
  if (names.size === 0) return;
  const docker = new Docker({ env: ctx.env });
  for (const name of names) {
    const removed = await removeOwned(docker, name, owner);
    ctx.log.info(removed ? `removed container ${name}` : `container ${name} already gone`);
  }
}
