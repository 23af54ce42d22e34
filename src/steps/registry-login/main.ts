// registry-login's work: plan every login, mask the passwords, check each set of
// credentials with the registry (GET /v2/, as `docker login` does), then write them into
// a private docker config directory of this job — created 0700, seeded from the job's
// config — export DOCKER_CONFIG, and record what post must remove. Nothing is written
// unless every registry accepted its credentials.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Ctx } from '../../runtime/define';
import { RegistryClient } from '../../lib/registry/client';
import { addAuths, dockerConfigPath, fileFingerprint, seedPrivateConfig } from '../../lib/registry/docker-config';
import { isShiplineError, withHint } from '../../lib/util/errors';
import { ownedPath } from '../../lib/util/paths';
import { InputError } from '../../runtime/inputs';
import type { Inputs } from './index';
import { planLogin, type Login } from './plan';

export type StepCtx = Ctx<Inputs>;

/** What post needs: the private directory, the keys added, and the config's fingerprint as left. */
export type LoginRecord = { dir: string; keys: string[]; fingerprint: string };

export const loginRecord = (ctx: StepCtx) => ctx.state<LoginRecord>('login');

/** The shape of the directory main makes (mkdtemp's six characters). */
export const CONFIG_DIR_PREFIX = 'shipline-docker-';
export const CONFIG_DIR_SHAPE = /^shipline-docker-[A-Za-z0-9]{6}$/;

export async function main(ctx: StepCtx): Promise<void> {
  const plan = planLogin(ctx.inputs, ctx.env, (v) => ctx.secret(v));
  for (const l of plan.logins) {
    ctx.secret(l.password);
    ctx.secret(Buffer.from(`${l.username}:${l.password}`).toString('base64'));
  }
  for (const l of plan.logins) await verify(ctx, l);

  const config = privateConfig(ctx, plan.logins);
  addAuths(
    config.path,
    plan.logins.map((l) => ({ registry: l.key, username: l.username, password: l.password })),
  );
  const keys = [...new Set([...config.keys, ...plan.logins.map((l) => l.key)])];
  if (plan.logout) loginRecord(ctx).set({ dir: config.dir, keys, fingerprint: fileFingerprint(config.path) });
  ctx.exportVariable('DOCKER_CONFIG', config.dir);

  ctx.log.info(
    `wrote ${plan.logins.length} entr${plan.logins.length === 1 ? 'y' : 'ies'} to ${config.path}; DOCKER_CONFIG points there for the rest of the job${plan.logout ? ' and it is removed when the job ends' : ''}`,
  );
  ctx.setOutput('registry', plan.logins[0]!.key);
  ctx.setOutput('registries', plan.logins.map((l) => l.key).join('\n'));
  ctx.setOutput('docker-config', config.dir);
}

/** GET /v2/ with the credentials: a registry that refuses them fails the step here, not a later push. */
async function verify(ctx: StepCtx, l: Login): Promise<void> {
  const client = new RegistryClient({
    registry: l.host,
    credential: () => Promise.resolve({ username: l.username, password: l.password, source: l.source }),
    configPath: l.source,
    secret: (v) => ctx.secret(v),
    debug: (m) => ctx.log.debug(m),
    userAgent: 'shipline-registry-login',
    maxAttempts: 3,
    deadlineMs: 30_000,
  });
  try {
    await client.request('GET', '/v2/', { ok: [200] });
  } catch (err) {
    throw explain(err, l);
  }
  ctx.log.info(`logged in to ${l.host} as ${l.username} (${l.source}): the registry accepted the credentials`);
}

/** A failed check, worded with the input the credentials came from. */
export function explain(err: unknown, l: Pick<Login, 'host' | 'source' | 'input'>): unknown {
  if (!isShiplineError(err) || err.kind === 'input' || err.kind === 'bug') return err;
  if (err.kind === 'auth' || err.kind === 'denied')
    return withHint(
      err,
      `${l.host} rejected the user name or password from ${l.source}: check them (an access token needs at least read access to the registry), then re-run`,
    );
  // Credentials too long for the registry's request headers: the input's problem.
  if (err.data.status === 431 || / HTTP 431\b/.test(err.message))
    return new InputError(
      l.input === 'registry' ? 'password' : l.input,
      `${l.host} refused the login request as too large (HTTP 431): the user name or password from ${l.source} is longer than its headers allow`,
      'give the access token itself (not a file’s content or several values in one)',
    );
  if (err.kind === 'transient' || err.data.unreachable === true)
    return withHint(err, `check the registry address in ${l.input} and that the runner can reach ${l.host}`);
  return err;
}

/**
 * The private directory this job writes to: the one an earlier registry-login of this job
 * made (same state: a second call on GitLab or the CLI), else a new one seeded from the
 * job's docker config. Never the job's own ~/.docker.
 */
function privateConfig(ctx: StepCtx, logins: Login[]): { dir: string; path: string; keys: string[] } {
  const earlier = loginRecord(ctx).get();
  const reuse = earlier && ownedPath(ctx.tempDir, earlier.dir, CONFIG_DIR_SHAPE);
  if (earlier && reuse && existsSync(join(reuse, 'config.json'))) {
    ctx.log.info(`adding to ${reuse}, made by the earlier registry-login of this job`);
    return { dir: reuse, path: join(reuse, 'config.json'), keys: Array.isArray(earlier.keys) ? earlier.keys : [] };
  }
  const source = dirname(dockerConfigPath(ctx.env));
  const made = seedPrivateConfig(
    ctx.tempDir,
    source,
    CONFIG_DIR_PREFIX,
    logins.map((l) => l.key),
  );
  ctx.log.info(`private docker config ${made.dir} (0700), seeded from ${join(source, 'config.json')}`);
  if (made.droppedCredsStore !== undefined)
    ctx.log.warn(
      `the job's docker config uses credsStore '${made.droppedCredsStore}'; the private copy does not (docker would ask the store and ignore the entries written here): registries whose credentials only that store holds need a login in this step too`,
    );
  if (made.droppedHelpers.length)
    ctx.log.info(
      `credHelpers for ${made.droppedHelpers.join(', ')} replaced by this step's entries (in the copy only)`,
    );
  return { dir: made.dir, path: made.path, keys: [] };
}
