// Paths that must stay inside a root (the workspace, the step's own temp dir), checked
// after symlinks are resolved: `../x`, an absolute path elsewhere, or a link in the
// checkout pointing out all resolve outside and are refused by the caller.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * The real path `p` names: the real path of its deepest existing ancestor, joined with the
 * components that do not exist yet (they cannot be links). A dangling link resolves to
 * where it points, so writing through it is judged by its target.
 */
export function realpathDeep(p: string): string {
  let cur = resolve(p);
  const missing: string[] = [];
  // Bounded: each turn either drops a component or follows a link (at most 40, like the kernel).
  for (let links = 0, turns = 0; turns < 4096; turns++) {
    try {
      return join(realpathSync.native(cur), ...[...missing].reverse());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let link: string | undefined;
    try {
      if (lstatSync(cur).isSymbolicLink()) link = readlinkSync(cur);
    } catch {
      // does not exist: a component still to be created
    }
    if (link !== undefined) {
      // A dangling link: writing through it creates its target, so judge the target.
      if (++links > 40) throw new Error(`too many levels of symbolic links at ${cur}`);
      cur = resolve(dirname(cur), link);
      continue;
    }
    const parent = dirname(cur);
    if (parent === cur) break;
    missing.push(basename(cur));
    cur = parent;
  }
  return join(cur, ...[...missing].reverse());
}

/** `child` is `root` itself or below it (both already real paths). */
function within(root: string, child: string, strict: boolean): boolean {
  const rel = relative(root, child);
  if (rel === '') return !strict;
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * The real path of `p` (relative paths are taken from `root`) when it lies strictly under
 * `root` after every symlink is resolved; undefined otherwise. `allowRoot` accepts the
 * root itself (a copy into the workspace directory).
 */
export function resolveInside(root: string, p: string, opts: { allowRoot?: boolean } = {}): string | undefined {
  // A root that does not exist yet holds no links: its deepest existing ancestor decides.
  const realRoot = realpathDeep(root);
  const target = realpathDeep(isAbsolute(p) ? p : resolve(root, p));
  return within(realRoot, target, opts.allowRoot !== true) ? target : undefined;
}

/** Whether `p` lies strictly under `root` after realpath (symlink-safe prefix check). */
export function isInside(root: string, p: string): boolean {
  return resolveInside(root, p) !== undefined;
}

/**
 * A path a step recorded for its cleanup, trusted only when it is directly what the step
 * creates: strictly under `root` after realpath, and its last component shaped like the
 * step's own names (e.g. /^shipline-vault-[A-Za-z0-9]{6}$/). Returns the real path, or undefined.
 */
export function ownedPath(root: string, p: unknown, shape: RegExp): string | undefined {
  if (typeof p !== 'string' || p === '' || !isAbsolute(p)) return undefined;
  if (!shape.test(basename(p))) return undefined;
  const real = resolveInside(root, p);
  if (real === undefined || !shape.test(basename(real))) return undefined;
  return real;
}
