// run-in-container: start one container of the image (or find the one a start made earlier
// in the job), copy the workspace in, run each command with `docker exec`, copy the results
// out, and remove the container unless it stays for the rest of the job.
import { realpathSync } from 'node:fs';
import { relative } from 'node:path';
import type { Ctx } from '../../runtime/define';
import type { Docker } from '../../lib/docker/docker';
import { errorMessage, isShiplineError, ShiplineError, withHint } from '../../lib/util/errors';
import { workspaceDestination } from '../shared/dockerfile';
import { planRun, type Inputs, type RunPlan } from './plan';

export type StepCtx = Ctx<Inputs>;

/** The docker code, loaded once the inputs are valid (bad input fails at bare-node speed). */
export async function load() {
  const [{ Docker }, container] = await Promise.all([
    import('../../lib/docker/docker'),
    import('../../lib/docker/container'),
  ]);
  return { Docker, ...container };
}
type Lib = Awaited<ReturnType<typeof load>>;

/** The container main created, kept for the cleanup (written before it exists: a cancelled start is cleaned too). */
export const started = (ctx: StepCtx) => ctx.state<{ name: string; owner: string }>('container');

/**
 * Variables whose values are masked even when listed in `env` (not `secret-env`): the
 * credentials GitLab and GitHub themselves mask in job logs, and those shipline's own
 * steps export as secrets (assume-role, vault-secrets' token) or read a token from.
 */
export const PLATFORM_SECRETS: readonly string[] = [
  'CI_JOB_TOKEN',
  'CI_BUILD_TOKEN',
  'CI_REGISTRY_PASSWORD',
  'CI_DEPLOY_PASSWORD',
  'CI_DEPENDENCY_PROXY_PASSWORD',
  'CI_JOB_JWT',
  'CI_JOB_JWT_V1',
  'CI_JOB_JWT_V2',
  'GITHUB_TOKEN',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_ID_TOKEN',
  'VAULT_TOKEN',
];

interface Job {
  ctx: StepCtx;
  lib: Lib;
  docker: Docker;
  plan: RunPlan;
  name: string;
  owner: string;
  /** Seconds per phase, for the summary. */
  timed<T>(phase: string, fn: () => Promise<T>): Promise<T>;
}

export async function main(ctx: StepCtx): Promise<void> {
  const plan = planRun(ctx.inputs, ctx.workspace);
  // Every input problem is raised above, before the CI context (outside CI: `git log`) is read.
  const lib = await load();
  const owner = lib.ownerId(ctx.ci, ctx.workspace, ctx.env);
  const name = ctx.inputs.name ?? lib.defaultName(ctx.ci.jobId, owner);
  passVariables(ctx);
  const docker = new lib.Docker({ env: ctx.env, cwd: ctx.workspace });
  const timings: { phase: string; ms: number }[] = [];
  const job: Job = {
    ctx,
    lib,
    docker,
    plan,
    name,
    owner,
    async timed(phase, fn) {
      const t0 = Date.now();
      try {
        return await fn();
      } finally {
        timings.push({ phase, ms: Date.now() - t0 });
      }
    },
  };
  ctx.setOutput('container', name);

  if (ctx.inputs.mode === 'stop') {
    const removed = await docker.ping().then(() => lib.removeOwned(docker, name, owner));
    ctx.log.info(removed ? `removed container ${name}` : `no container ${name} of this job to remove`);
    // A start earlier in the job exported the name: later lines must not find a removed container by it.
    if (ctx.env.SHIPLINE_CONTAINER === name) ctx.exportVariable('SHIPLINE_CONTAINER', '');
    return;
  }

  await docker.ping();
  let created = false;
  let ran = false;
  let failure: { code: number; command: string } | undefined;
  try {
    if (plan.starts) {
      await startContainer(job);
      created = true;
    } else if (!(await lib.isRunning(docker, name))) {
      throw new ShiplineError(`no running container ${name} for mode ${ctx.inputs.mode}`, {
        kind: 'not-found',
        hint: 'start it earlier in the same job with mode: start (and the same name input, if you set one)',
      });
    }
    // Exported only while the container stays (start, keep): a GitLab job sources the env
    // file on its next line, and the cleanup takes it away with the container. Set before
    // the commands, so a failing command leaves later lines (and after_script) the name.
    if (plan.stays) ctx.exportVariable('SHIPLINE_CONTAINER', name);
    await copyIn(job);
    failure = await runCommands(job);
    ran = true;
    await copyOut(job, failure !== undefined);
    if (plan.stays)
      ctx.log.info(
        `container ${name} stays until the job ends (later steps: mode exec, or docker exec "$SHIPLINE_CONTAINER" …)`,
      );
  } finally {
    if (created && !plan.stays) {
      await job
        .timed('remove', () => lib.removeOwned(docker, name, owner))
        .catch((e: unknown) => ctx.log.warn(errorMessage(e)));
    }
    // Only when the commands ran: after a failed pull or start there is no command's code to give.
    if (ran) ctx.setOutput('exit-code', String(failure?.code ?? 0));
    if (timings.length) ctx.summary(summary(name, timings));
  }
  if (failure) {
    throw new ShiplineError(`command failed with exit code ${failure.code}: ${failure.command}`, {
      exitCode: failure.code,
      hint: 'the command output is in the group above; the step exits with the same code',
    });
  }
}

/** The variables `env` and `secret-env` name, each once: they reach the commands by name. */
export function passedNames(i: Pick<Inputs, 'env' | 'secretEnv'>): string[] {
  return [...new Set([...i.env, ...i.secretEnv])];
}

/**
 * Warns about listed variables the job lacks, and masks the values of `secret-env` and of
 * the platforms' own credentials (PLATFORM_SECRETS); other `env` values stay readable.
 */
function passVariables(ctx: StepCtx): void {
  const secret = new Set([...ctx.inputs.secretEnv, ...ctx.inputs.env.filter((n) => PLATFORM_SECRETS.includes(n))]);
  for (const n of passedNames(ctx.inputs)) {
    const v = ctx.env[n];
    const input = ctx.inputs.secretEnv.includes(n) ? 'secret-env' : 'env';
    if (v === undefined)
      ctx.log.warn(`variable ${n} (input ${input}) is not set in the job; the commands will not see it`);
    else if (secret.has(n)) ctx.secret(v);
  }
}

async function startContainer({ ctx, lib, docker, plan, name, owner, timed }: Job): Promise<void> {
  const { pull, workdir } = ctx.inputs;
  const image = plan.image ?? '';
  const pulled = await timed('pull', () =>
    ctx.log.group(`Image ${image}`, () =>
      lib.ensureImage(docker, image, pull, (l) => ctx.log.info(l), { onRetry: (m) => ctx.log.warn(m) }),
    ),
  ).catch((err: unknown) => {
    throw isShiplineError(err) && err.data.image !== undefined ? withHint(err, pullHint(err)) : err;
  });
  ctx.log.info(pulled ? `pulled ${image}` : `${image} is on the engine (pull: ${pull})`);
  // Saved before the container exists, so cleanup finds it even if the job is cancelled mid-start.
  started(ctx).set({ name, owner });
  await timed('start', () =>
    lib.startContainer(docker, { image, name, workdir, step: 'run-in-container', owner, options: plan.runOptions }),
  ).catch((err: unknown) => {
    throw isShiplineError(err) && (err.kind === 'conflict' || err.data.image !== undefined)
      ? withHint(err, startHint(err))
      : err;
  });
  ctx.log.info(`started container ${name} of ${image}`);
}

/** The pull failed: what to do, by its kind (the library says which image and registry). */
function pullHint(err: ShiplineError): string {
  const registry = typeof err.data.registry === 'string' ? err.data.registry : 'the registry';
  if (err.data.policy === 'never')
    return `build or pull it earlier in the job, or set pull: missing to fetch it from ${registry}`;
  if (err.kind === 'not-found')
    return `check the repository and tag (was the image pushed by an earlier job with this tag?) and that the job may read ${registry}`;
  if (err.kind === 'auth') return `log in to ${registry} first (e.g. the ecr-login step or docker login)`;
  return `check that ${registry} is reachable from the job`;
}

function startHint(err: ShiplineError): string {
  if (err.kind === 'conflict') return 'give another name (input name), or leave it empty for a name unique to the job';
  if (err.hint) return err.hint;
  if (err.data.problem === 'network') return 'choose a network the engine has (input network: host, none or bridge)';
  return 'check the options and that the engine can run the image';
}

async function copyIn({ ctx, lib, docker, plan, name, timed }: Job): Promise<void> {
  // Plan paths are real paths: compare with the workspace's own.
  const root = realpathSync(ctx.workspace);
  for (const c of plan.copies) {
    const { entries, bytes } = await timed(`copy-in ${relative(root, c.host) || '.'}`, () =>
      lib.copyIn(docker, ctx.env, name, c.host, c.container, {
        exclude: c.host === root ? ['.shipline'] : [],
      }),
    );
    ctx.log.info(
      `copied ${c.host} -> ${name}:${c.container} (${entries} entries, ${(bytes / 1048576).toFixed(1)} MiB tar)`,
    );
    if (plan.user) {
      // docker cp writes as root: hand the copy to the container's user so commands can write to it.
      const r = await docker.run(['exec', '--user', '0', name, 'chown', '-R', '--', plan.user, c.container], {
        allowFailure: true,
      });
      if (r.code !== 0) ctx.log.warn(`could not chown ${c.container} to ${plan.user}: ${r.stderr.trim()}`);
    }
  }
}

/** Each command in its own log group; returns the first failure (after it, stops with fail-fast). */
async function runCommands({
  ctx,
  lib,
  docker,
  plan,
  name,
  timed,
}: Job): Promise<{ code: number; command: string } | undefined> {
  const { workdir, failFast } = ctx.inputs;
  const envNames = passedNames(ctx.inputs);
  let failure: { code: number; command: string } | undefined;
  for (const command of ctx.inputs.run) {
    const code = await timed(`\`${command}\``, () =>
      ctx.log.group(`$ ${command}`, () =>
        lib.execCommand(docker, { container: name, workdir, shell: plan.shell, command, envNames }, (line) =>
          ctx.log.info(line),
        ),
      ),
    );
    if (code !== 0) {
      ctx.log.error(`command exited with code ${code}: ${command}`);
      failure ??= { code, command };
      if (failFast) break;
    }
  }
  return failure;
}

/** Copies results out; after a failed command (test reports) a missing path only warns. */
async function copyOut({ ctx, lib, docker, plan, name, timed }: Job, afterFailure: boolean): Promise<void> {
  for (const o of plan.outs) {
    try {
      // Checked again now: the commands or an earlier copy-out may have put a symlink in the way.
      const host = workspaceDestination('copy-out', ctx.workspace, o.host);
      await timed(`copy-out ${o.container}`, () => lib.copyOut(docker, name, o.container, host));
      ctx.log.info(`copied ${name}:${o.container} -> ${o.host}`);
    } catch (err) {
      if (!afterFailure) throw err;
      ctx.log.warn(`copy-out after a failed command: ${errorMessage(err)}`);
    }
  }
}

function summary(name: string, timings: { phase: string; ms: number }[]): string {
  const rows = timings.map((t) => `| ${t.phase.replace(/\|/g, '\\|')} | ${(t.ms / 1000).toFixed(2)} |`);
  return [`### run-in-container \`${name}\``, '', '| phase | seconds |', '|---|---:|', ...rows, ''].join('\n');
}
