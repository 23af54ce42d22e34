// vault-secrets cleanup: remove the files of export: file, revoke the token export-token kept.
import { rmSync } from 'node:fs';
import { VaultClient } from '../../lib/vault/client';
import { fileDir, keptToken, revoke, type StepCtx } from './main';

export async function post(ctx: StepCtx): Promise<void> {
  const dir = fileDir(ctx).get();
  if (dir) rmSync(dir, { recursive: true, force: true });
  const kept = keptToken(ctx).get();
  if (!kept?.token || !kept.url) return;
  ctx.secret(kept.token);
  const client = new VaultClient({
    url: kept.url,
    maxAttempts: 3,
    deadlineMs: 20_000,
    ...(kept.namespace ? { namespace: kept.namespace } : {}),
  });
  client.useToken(kept.token);
  await revoke(ctx, client);
}
