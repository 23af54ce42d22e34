// ecr-login's cleanup: remove exactly the entries main added and put back the ones they
// replaced (`docker logout` first for method docker).
import { dockerConfigPath, restoreAuths } from '../../lib/registry/docker-config';
import { exec } from '../../lib/util/exec';
import { added, type StepCtx } from './main';

export async function post(ctx: StepCtx): Promise<void> {
  const state = added(ctx);
  const a = state.get();
  if (!a) return; // logout: false, or main never got that far
  // Only the docker config main writes to (the job's, from its environment), and only
  // entries keyed like registry hosts: a state entry naming another file is ignored.
  const path = dockerConfigPath(ctx.env);
  const keys = Object.keys(a.previous ?? {});
  if (a.path !== path || keys.some((k) => !/^[A-Za-z0-9[][A-Za-z0-9.:/[\]_-]*$/.test(k))) {
    ctx.log.warn(`not touching ${String(a.path)}: it is not the docker config this step wrote to (${path})`);
    state.clear();
    return;
  }
  if (a.method === 'docker') {
    for (const [key, prev] of Object.entries(a.previous)) {
      if (prev !== null) continue;
      await exec('docker', ['logout', '--', key], {
        env: { ...ctx.env },
        timeoutMs: 30_000,
        allowFailure: true,
        what: `docker logout ${key}`,
      });
    }
  }
  restoreAuths(a.path, { previous: a.previous, hadAuths: a.hadAuths }, { createdFile: a.createdFile });
  // The state held copies of replaced entries: drop them now that they are back in place.
  state.clear();
  ctx.log.info(
    `removed ${Object.keys(a.previous).join(', ')} from ${a.path}${Object.values(a.previous).some((p) => p !== null) ? ' (restored the entries they replaced)' : ''}`,
  );
}
