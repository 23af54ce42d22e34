// registry-login's cleanup (GitHub post, GitLab after_script, `--post`): remove what main
// added, and nothing else. The private directory goes whole when its config is exactly as
// main left it (every later writer, e.g. ecr-login, has undone its own change); when
// another step wrote to it since, only this step's entries are removed and the directory
// stays. Only a directory main made (under the job's temp dir, with main's name shape) is
// touched; the runner user's ~/.docker never is.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileFingerprint, removeAuthKeys } from '../../lib/registry/docker-config';
import { ownedPath } from '../../lib/util/paths';
import { CONFIG_DIR_SHAPE, loginRecord, type StepCtx } from './main';

const KEY_SHAPE = /^(?:https:\/\/index\.docker\.io\/v1\/|[A-Za-z0-9[][A-Za-z0-9.:[\]-]*)$/;

export async function post(ctx: StepCtx): Promise<void> {
  const state = loginRecord(ctx);
  const rec = state.get();
  if (!rec) return; // logout: false, or main never got that far
  const dir = ownedPath(ctx.tempDir, rec.dir, CONFIG_DIR_SHAPE);
  const keys = Array.isArray(rec.keys) ? rec.keys.filter((k) => typeof k === 'string' && KEY_SHAPE.test(k)) : [];
  if (!dir) {
    ctx.log.warn(`not touching ${String(rec.dir)}: it is not a directory this step created under ${ctx.tempDir}`);
    state.clear();
    return;
  }
  const path = join(dir, 'config.json');
  if (fileFingerprint(path) === rec.fingerprint || fileFingerprint(path) === '') {
    rmSync(dir, { recursive: true, force: true });
    ctx.log.info(`logged out of ${keys.join(', ')}: removed ${dir}`);
  } else {
    const removed = removeAuthKeys(path, keys);
    ctx.log.warn(
      `logged out of ${removed.join(', ') || 'nothing'} in ${path}; kept the directory: another step changed the config after this one and did not undo it`,
    );
  }
  state.clear();
}
