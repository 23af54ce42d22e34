// vault-secrets: log in to Vault with AppRole, read each secret path once, mask every value,
// export the values (or 0600 files holding them), and revoke the token, here or, with
// export-token, in the cleanup.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from '../../runtime/define';
import { errorMessage, isShiplineError, withHint } from '../../lib/util/errors';
import { VaultClient, type VaultProblem } from '../../lib/vault/client';
import { readSecrets, type SecretValue } from '../../lib/vault/read-secrets';
import { planVault, type Inputs, type VaultPlan } from './plan';

export type StepCtx = Ctx<Inputs>;

/**
 * What main keeps for the cleanup: the directory of export: file, and the token (with the
 * address and namespace it belongs to), saved the moment login returns it, before any
 * secret is read: a step killed mid-read leaves a token `--post` can still revoke. Main
 * clears it once revoked; with export-token it stays for the cleanup.
 */
export const fileDir = (ctx: StepCtx) => ctx.state<string>('dir');
export type KeptToken = { url: string; token: string; namespace: string | null };
export const keptToken = (ctx: StepCtx) => ctx.state<KeptToken>('token');

/** The shape of the export: file directory (mkdtemp's six characters). */
export const FILE_DIR_SHAPE = /^shipline-vault-[A-Za-z0-9]{6}$/;

export async function main(ctx: StepCtx): Promise<void> {
  const { inputs } = ctx;
  const plan = planVault(inputs, ctx.env);
  // Values from job variables were not inputs, so the runtime has not masked them yet.
  ctx.secret(plan.roleId);
  if (plan.secretId) ctx.secret(plan.secretId);

  const client = new VaultClient({
    url: plan.url,
    maxAttempts: inputs.retryMaxAttempts,
    ...(plan.namespace ? { namespace: plan.namespace } : {}),
    onRetry: (m) => ctx.log.warn(m),
  });
  let keepToken = false;
  try {
    const values = await read(ctx, client, plan, (token) =>
      keptToken(ctx).set({ url: plan.url, token, namespace: plan.namespace ?? null }),
    ).catch((err: unknown) => {
      throw hinted(err);
    });
    // Masked before anything can print or export them.
    for (const v of values) ctx.secret(v.value);
    if (inputs.export === 'file') exportFiles(ctx, values);
    else for (const v of values) ctx.exportVariable(v.name, v.value, { secret: true });
    if (inputs.exportToken) {
      const token = client.tokenValue();
      ctx.exportVariable('VAULT_ADDR', plan.url);
      ctx.exportVariable('VAULT_TOKEN', token, { secret: true });
      keepToken = true; // already in state: the cleanup revokes it
    }
    ctx.setOutput('names', values.map((v) => v.name).join('\n'));
    ctx.summary(
      ['### Vault secrets', '', ...values.map((v) => `- \`${v.name}\` from \`${v.path}\` key \`${v.key}\``), ''].join(
        '\n',
      ),
    );
  } finally {
    if (!keepToken && client.hasToken && (await revoke(ctx, client))) keptToken(ctx).clear();
  }
}

async function read(
  ctx: StepCtx,
  client: VaultClient,
  plan: VaultPlan,
  loggedIn: (token: string) => void,
): Promise<SecretValue[]> {
  const { authPath, kvVersion } = ctx.inputs;
  return ctx.log.group(`Vault ${plan.url}: ${plan.count} secret(s) from ${plan.groups.size} path(s)`, async () => {
    const token = await client.login(authPath, plan.roleId, plan.secretId);
    ctx.secret(token);
    loggedIn(token);
    ctx.log.info(
      `logged in with AppRole at auth/${authPath.replace(/^\/+|\/+$/g, '')}${plan.namespace ? ` (namespace ${plan.namespace})` : ''}`,
    );
    const values = await readSecrets(client, plan.groups, kvVersion);
    for (const [path, reqs] of plan.groups)
      ctx.log.info(`${path}: ${reqs.map((r) => `${r.key} -> ${r.name}`).join(', ')}`);
    return values;
  });
}

function exportFiles(ctx: StepCtx, values: SecretValue[]): void {
  const dir = mkdtempSync(join(ctx.tempDir, 'shipline-vault-'));
  chmodSync(dir, 0o700);
  fileDir(ctx).set(dir);
  for (const v of values) {
    const file = join(dir, v.name);
    // 'wx': a new file (O_CREAT|O_EXCL), never through a link planted in its place.
    writeFileSync(file, v.value, { mode: 0o600, flag: 'wx' });
    ctx.exportVariable(v.name, file);
  }
}

/** Best effort: a token that cannot be revoked expires with its TTL. True when revoked. */
export async function revoke(ctx: StepCtx, client: VaultClient): Promise<boolean> {
  try {
    await client.revokeSelf();
    ctx.log.info('revoked the Vault token');
    return true;
  } catch (err) {
    ctx.log.warn(`could not revoke the Vault token (it expires with its TTL): ${errorMessage(err)}`);
    return false;
  }
}

/** The hints that name this step's inputs, by the problem the Vault client reports. */
const HINTS: Partial<Record<VaultProblem, (data: Readonly<Record<string, unknown>>) => string>> = {
  unavailable: () => 'Vault or a proxy in front of it is failing; re-run later or raise retry-max-attempts',
  throttled: () => 'raise retry-max-attempts or lower the request rate',
  unreachable: () => 'check the url input / VAULT_ADDR and that the runner can reach Vault',
  'no-connection': () => 'check the url input / VAULT_ADDR',
  'no-auth-mount': (d) => `no auth method is mounted at auth/${String(d.mount)}; set auth-path to the AppRole mount`,
  'login-rejected': () => 'check role-id and secret-id (a secret id may have expired or reached its use limit)',
  'no-token': () => 'check that auth-path names an AppRole mount',
  'probe-failed': () =>
    'check the path; or set kv-version to 1 or 2 to skip this probe (the mount is then the first segment, or written as <mount>//<path>)',
  'probe-unclear': () => 'set kv-version to 1 or 2',
  'version-mismatch': () => 'set kv-version to auto, or to the version of the mount',
};

function hinted(err: unknown): unknown {
  if (!isShiplineError(err)) return err;
  const hint = HINTS[err.data.problem as VaultProblem]?.(err.data);
  return hint ? withHint(err, hint) : err;
}
