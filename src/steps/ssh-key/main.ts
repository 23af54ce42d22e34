// ssh-key: the key put back together from the job's variables (or its base64) and checked,
// written with its known_hosts into a private directory, GIT_SSH_COMMAND exported, and
// optionally an ssh-agent started with it. Nothing is written before every check passed.
import type { Ctx } from '../../runtime/define';
import { keyText } from '../../lib/ssh/key';
import { gitSshCommand, startAgent, writeKeyDir, type Agent } from '../../lib/ssh/setup';
import { isShiplineError, withHint } from '../../lib/util/errors';
import { hostPattern, planKey, readKnownHosts, type Inputs } from './plan';

export type StepCtx = Ctx<Inputs>;

/** What main keeps for the cleanup: the private directory and the agent (pid, command line, start time). */
export const keyDir = (ctx: StepCtx) => ctx.state<string>('dir');
export const agentRecord = (ctx: StepCtx) => ctx.state<{ pid: number; cmdline: string; start: string }>('agent');

/** The shape of the directory writeKeyDir makes (mkdtemp's six characters). */
export const KEY_DIR_SHAPE = /^shipline-ssh-[A-Za-z0-9]{6}$/;

export async function main(ctx: StepCtx): Promise<void> {
  const { inputs } = ctx;
  const plan = planKey(inputs, readKnownHosts(inputs.knownHosts), ctx.env);
  const { info } = plan;
  // Mask the body lines (the armour lines are public) before anything else can print.
  for (const l of info.body) ctx.secret(l);
  if (plan.variables.length)
    ctx.log.info(`key from ${plan.variables.length} variable(s): ${describeNames(plan.variables)}`);

  const files = writeKeyDir(ctx.tempDir, keyText(plan.lines), plan.knownHosts);
  keyDir(ctx).set(files.dir);
  const command = gitSshCommand(files.keyFile, files.knownHostsFile);
  ctx.exportVariable('GIT_SSH_COMMAND', command);
  if (inputs.startAgent) {
    const agent = await startKeyAgent(ctx, files.dir, files.keyFile);
    ctx.exportVariable('SSH_AUTH_SOCK', agent.sock);
    ctx.exportVariable('SSH_AGENT_PID', String(agent.pid));
    ctx.log.info(`ssh-agent ${agent.pid} holds the key`);
  }
  ctx.log.info(
    `key ${info.type ?? info.label}${info.fingerprint ? ` ${info.fingerprint}` : ''} written to ${files.keyFile}; known_hosts for ${inputs.host ? hostPattern(inputs.host) : 'the given hosts'}`,
  );
  ctx.setOutput('key-file', files.keyFile);
  ctx.setOutput('known-hosts-file', files.knownHostsFile);
  ctx.setOutput('ssh-command', command);
  ctx.setOutput('fingerprint', info.fingerprint ?? '');
}

function describeNames(names: string[]): string {
  return names.length > 3 ? `${names[0]} … ${names[names.length - 1]}` : names.join(', ');
}

async function startKeyAgent(ctx: StepCtx, dir: string, keyFile: string): Promise<Agent> {
  try {
    // Recorded as soon as the agent runs, before the key is added: a kill in between is cleaned too.
    return await startAgent(dir, keyFile, ctx.env, (identity) => agentRecord(ctx).set({ ...identity }));
  } catch (err) {
    if (!isShiplineError(err)) throw err;
    throw withHint(err, `${err.hint ? `${err.hint}; ` : ''}or set start-agent: false (GIT_SSH_COMMAND needs no agent)`);
  }
}
