// vault-secrets cleanup: remove the files of export: file, revoke the token main saved
// (export-token, or a run killed before it could revoke). The directory is removed only
// when it is one this step makes under the job's temp dir (realpath, name shape).
import { rmSync } from 'node:fs';
import { VaultClient } from '../../lib/vault/client';
import { ownedPath } from '../../lib/util/paths';
import { FILE_DIR_SHAPE, fileDir, keptToken, revoke, type StepCtx } from './main';

export async function post(ctx: StepCtx): Promise<void> {
  const recorded = fileDir(ctx).get();
  if (recorded !== undefined) {
    const dir = ownedPath(ctx.tempDir, recorded, FILE_DIR_SHAPE);
    if (dir) rmSync(dir, { recursive: true, force: true });
    else ctx.log.warn(`not removing ${String(recorded)}: it is not a directory this step created under ${ctx.tempDir}`);
    fileDir(ctx).clear();
  }
  const kept = keptToken(ctx).get();
  if (typeof kept?.token !== 'string' || typeof kept.url !== 'string' || !kept.token || !/^https?:\/\//.test(kept.url))
    return;
  ctx.secret(kept.token);
  const client = new VaultClient({
    url: kept.url,
    maxAttempts: 3,
    deadlineMs: 20_000,
    ...(typeof kept.namespace === 'string' && kept.namespace ? { namespace: kept.namespace } : {}),
  });
  client.useToken(kept.token);
  if (await revoke(ctx, client)) keptToken(ctx).clear();
}
