// ecr-login's work: plan, get the registry credentials from ECR (one signed request), note what the docker config held for those registries, write the entries (or run
// `docker login`), and record what post must undo. A failure is worded here (explain).
import { existsSync } from 'node:fs';
import type { Ctx, Json } from '../../runtime/define';
import { ecrAuthorization, type EcrAuth } from '../../lib/aws/ecr';
import { NO_CREDENTIALS } from '../../lib/aws/errors';
import { addAuths, dockerConfigPath, readDockerConfig, registryKey } from '../../lib/registry/docker-config';
import { isShiplineError, withHint } from '../../lib/util/errors';
import { exec } from '../../lib/util/exec';
import { unreachableHint } from '../shared/aws';
import type { Inputs } from './index';
import { planLogin, type LoginPlan } from './plan';

export type StepCtx = Ctx<Inputs>;

/** What main added, so post can undo exactly that. */
export type Added = {
  path: string;
  method: 'config' | 'docker';
  createdFile: boolean;
  /** The config had an `auths` object before (an empty one is then kept). */
  hadAuths: boolean;
  /** Per registry key, the entry it replaced (null: there was none). */
  previous: Record<string, Entry | null>;
};

/** A docker config auth entry as read from the file: JSON. */
type Entry = { [key: string]: Json };

export const added = (ctx: StepCtx) => ctx.state<Added>('added');

export async function main(ctx: StepCtx): Promise<void> {
  const i = ctx.inputs;
  const plan = planLogin(i, ctx.env);
  for (const w of plan.warnings) ctx.log.warn(w);
  const auths = await authorization(ctx, plan);

  const path = dockerConfigPath(ctx.env);
  const createdFile = !existsSync(path);
  const before = readDockerConfig(path);
  const previous: Added['previous'] = {};
  for (const a of auths)
    previous[registryKey(a.registry)] ??= (before.auths?.[registryKey(a.registry)] as Entry | undefined) ?? null;

  // Recorded before the first write, so a cleanup after SIGTERM/SIGKILL between two logins
  // still removes what was written (restoreAuths leaves a config without our entries alone).
  if (i.logout) added(ctx).set({ path, method: i.method, createdFile, hadAuths: before.auths !== undefined, previous });
  if (i.method === 'docker') await dockerLogin(ctx, auths);
  else addAuths(path, auths);

  const hosts = auths.map((a) => a.registry);
  for (const a of auths)
    ctx.log.info(`logged in to ${a.registry}${a.expiresAt ? ` (token valid until ${a.expiresAt.toISOString()})` : ''}`);
  ctx.log.info(
    `${i.method === 'docker' ? 'docker login wrote' : 'wrote'} ${hosts.length} entr${hosts.length === 1 ? 'y' : 'ies'} to ${path}${i.logout ? '; they are removed when the job ends' : ''}`,
  );
  ctx.setOutput('registry', hosts[0]!);
  ctx.setOutput('registries', hosts.join('\n'));
  ctx.setOutput('docker-config', path);
  for (const a of auths) {
    const id = a.registry.replace(/[^A-Za-z0-9]/g, '_');
    ctx.setOutput(`docker_username_${id}`, a.username);
    ctx.setOutput(`docker_password_${id}`, a.password);
  }
}

/**
 * GetAuthorizationToken with the job's credentials (the SDK's chain, dist/ecr-login/aws-sdk.js,
 * only when they are not in the environment); the secrets registered with the step.
 */
async function authorization(ctx: StepCtx, plan: LoginPlan): Promise<EcrAuth[]> {
  try {
    return await ecrAuthorization({ ...plan, log: ctx.log, onSecret: (v) => ctx.secret(v) }, ctx.env);
  } catch (err) {
    throw explain(err, plan);
  }
}

async function dockerLogin(ctx: StepCtx, auths: EcrAuth[]): Promise<void> {
  for (const a of auths) {
    // The password goes through stdin only; DOCKER_CONFIG (if any) comes with the env.
    await exec('docker', ['login', '--username', a.username, '--password-stdin', a.registry], {
      input: a.password,
      env: { ...ctx.env },
      timeoutMs: 60_000,
      what: `docker login ${a.registry}`,
      hint: 'check that the docker CLI can reach the registry',
    });
  }
}

const BAD_CREDENTIALS = ['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException'];

/** An ECR failure with what to change, in this step's inputs. */
export function explain(err: unknown, plan: Pick<LoginPlan, 'type' | 'registryIds'>): unknown {
  if (!isShiplineError(err) || err.kind === 'input' || err.kind === 'bug') return err;
  const code = err.data.code as string | undefined;
  if (err.kind === 'transient') return withHint(err, unreachableHint('the ECR API endpoint'));
  if (code === NO_CREDENTIALS) {
    return withHint(
      err,
      'run assume-role before this step (it exports AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), or provide credentials the SDK finds',
    );
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied') {
    return withHint(
      err,
      plan.type === 'public'
        ? 'the role needs ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken'
        : `the role needs ecr:GetAuthorizationToken${plan.registryIds.length ? ` (and access to registries ${plan.registryIds.join(', ')})` : ''}`,
    );
  }
  if (code !== undefined && BAD_CREDENTIALS.includes(code))
    return withHint(
      err,
      'the AWS credentials in the job are invalid or expired: run assume-role again right before this step',
    );
  if (code === undefined && err.kind === 'not-found')
    return withHint(err, 'check the input registries (account ids) and region');
  if (err.hint !== undefined) return err;
  return withHint(err, 'check region, registries and the credentials in the job');
}
