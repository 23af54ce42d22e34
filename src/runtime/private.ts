// The job's private directory: where the GitLab and CLI runtimes keep state, exported
// variables, the record of outputs and ctx.tempDir, and where a GitLab template fetches
// the pinned code. Nothing under the checkout is trusted (docs/security.md): this
// directory lies outside it, is created 0700 by the job, and every file in it is opened
// without following symlinks.
//   GitLab: $SHIPLINE_RUN_DIR, which the template sets to /tmp/shipline-$CI_JOB_ID and
//           creates fresh (`mkdir -m 700`, failing when it exists); without it
//           <tmpdir>/shipline-$CI_JOB_ID.
//   GitHub: $RUNNER_TEMP/shipline (the runner empties RUNNER_TEMP for every job).
//   CLI:    <tmpdir>/shipline-<uid>/<12 hex of the workspace's real path>; when that lies
//           inside the workspace (a run from /tmp), $XDG_RUNTIME_DIR/shipline/<hex>, else
//           ${XDG_CACHE_HOME:-~/.cache}/shipline/run/<hex>: the first one outside it.
// <tmpdir> is the run's own TMPDIR (the env the runtime was given), else os.tmpdir().
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, parse, relative, sep } from 'node:path';
import type { Platform } from './define';
import { ShiplineError } from '../lib/util/errors';
import type { Env } from '../lib/util/env';
import { sha256 } from '../lib/util/sha256';

// O_NOFOLLOW is 0 where the platform lacks it (Windows): opening then still works.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

const uid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

function refuse(path: string, why: string): never {
  throw new ShiplineError(`refusing the private directory ${path}: ${why}`, {
    kind: 'denied',
    data: { path },
    hint: 'shipline keeps state and credentials there: it must be a directory of this user with mode 0700 that this job created (remove it, or set SHIPLINE_RUN_DIR to a fresh path)',
  });
}

/** Whether `child` is `root` or below it (both real paths). */
export function isUnder(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Makes `path` a private directory (mode 0700, ours) or accepts it when it already is one;
 * refuses a symlink, another owner or a wider mode. Missing parents are made 0700.
 */
export function ensurePrivateDir(path: string): string {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(path);
  if (st.isSymbolicLink()) refuse(path, 'it is a symlink');
  if (!st.isDirectory()) refuse(path, 'it is not a directory');
  const me = uid();
  if (me !== undefined && st.uid !== me) refuse(path, `it belongs to uid ${st.uid}, not ${me}`);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    refuse(path, `its mode is ${(st.mode & 0o777).toString(8)}, not 700`);
  return path;
}

/** The run's temp root: TMPDIR of the env it was given (POSIX), else the process's. */
function tmpRoot(env: Env): string {
  const t = process.platform === 'win32' ? undefined : env.TMPDIR;
  return t && isAbsolute(t) ? t : tmpdir();
}

/** `path` resolved through its longest existing prefix (the rest need not exist yet). */
function realish(path: string): string {
  const rest: string[] = [];
  let cur = path;
  for (let i = 0; i < 256; i++) {
    try {
      return join(realpathSync.native(cur), ...rest);
    } catch {
      const up = dirname(cur);
      if (up === cur) break;
      rest.unshift(basename(cur));
      cur = up;
    }
  }
  return path;
}

/** A workspace that is the filesystem root holds every path: there is no "outside" to keep to. */
const isRoot = (real: string): boolean => parse(real).root === real;

/** Where this job's private directory is (not created). */
export function runDirPath(platform: Platform, env: Env, workspace: string): string {
  const given = env.SHIPLINE_RUN_DIR;
  if (given) {
    if (!isAbsolute(given))
      throw new ShiplineError(`SHIPLINE_RUN_DIR must be an absolute path, not '${given}'`, { kind: 'input' });
    return given;
  }
  if (platform === 'github') return join(env.RUNNER_TEMP || tmpRoot(env), 'shipline');
  if (platform === 'gitlab' && env.CI_JOB_ID) return join(tmpRoot(env), `shipline-${env.CI_JOB_ID}`);
  let real = workspace;
  try {
    real = realpathSync.native(workspace);
  } catch {
    // a workspace that does not exist yet: its name keys the directory
  }
  // sha256.ts, not node:crypto: loading that costs ~8 ms of a start (a fifth of bare node)
  const key = sha256(Buffer.from(real, 'utf8')).toString('hex').slice(0, 12);
  const first = join(tmpRoot(env), `shipline-${uid() ?? 'user'}`, key);
  // A run from /tmp (or any parent of the temp root) would keep its state in its own
  // checkout, which openRunDir refuses: take the first per-user location outside it.
  const candidates = [first];
  if (env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR))
    candidates.push(join(env.XDG_RUNTIME_DIR, 'shipline', key));
  let home: string | undefined = env.HOME;
  if (!home || !isAbsolute(home)) {
    try {
      home = homedir();
    } catch {
      home = undefined;
    }
  }
  const cache =
    env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : home && join(home, '.cache');
  if (cache) candidates.push(join(cache, 'shipline', 'run', key));
  if (isRoot(real)) return first;
  // None outside (the workspace holds them all): the first, which openRunDir then refuses.
  return candidates.find((c) => !isUnder(real, realish(c))) ?? first;
}

/** Creates (or accepts) the run directory, refusing one inside the checkout. */
export function openRunDir(path: string, workspace: string): string {
  let realWs: string | undefined;
  try {
    realWs = realpathSync.native(workspace);
  } catch {
    realWs = undefined;
  }
  ensurePrivateDir(path);
  // (A workspace that is the filesystem root, a CLI run from /, has no outside: not refused.)
  if (realWs !== undefined && !isRoot(realWs) && isUnder(realWs, realpathSync.native(path)))
    refuse(path, 'it lies inside the checkout');
  return path;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** A file's text, never through a symlink; undefined when absent. A symlink is refused. */
export function readNoFollow(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    if (errno(err) === 'ELOOP')
      throw new ShiplineError(`refusing to read ${file}: it is a symlink`, { kind: 'denied' });
    throw err;
  }
  try {
    if (!fstatSync(fd).isFile()) throw new ShiplineError(`refusing to read ${file}: not a file`, { kind: 'denied' });
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Creates `file` only when nothing (no file, no link) is there yet; false when something is. */
export function createExclusive(file: string, text = ''): boolean {
  try {
    writeNew(file, text, 0o600);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

function writeNew(file: string, text: string, mode: number): void {
  // O_EXCL: a file (or a link) already there fails instead of being written through.
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, mode);
  try {
    const buf = Buffer.from(text, 'utf8');
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `file` in a private directory with `text` (mode 0600): a new file opened with
 * O_EXCL|O_NOFOLLOW, renamed over the old one (a rename replaces a link, never follows it),
 * so a reader sees the old or the new content and the write is on disk when this returns.
 */
export function writePrivateFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    unlinkSync(tmp);
  } catch {
    // normally absent
  }
  writeNew(tmp, text, 0o600);
  renameSync(tmp, file);
}

/** Removes a file (or a link, never its target); absent is fine. */
export function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

/**
 * Writes `file` fresh (whatever was there, a planted file or link, is unlinked first) with
 * O_EXCL|O_NOFOLLOW. Directories between `root` and the file must be real directories:
 * `ownDir` (e.g. the workspace's `.shipline`) is replaced when it is a link or a file,
 * any other link on the way is refused.
 */
export function writeFresh(file: string, text: string, mode: number, root?: string, ownDir?: string): void {
  const dir = dirname(file);
  if (root !== undefined && isUnder(root, dir)) {
    let cur = root;
    for (const part of relative(root, dir).split(sep).filter(Boolean)) {
      cur = join(cur, part);
      let st;
      try {
        st = lstatSync(cur);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
        mkdirSync(cur, { mode: 0o755 });
        continue;
      }
      if (st.isDirectory()) continue;
      if (cur === ownDir) {
        unlinkSync(cur);
        mkdirSync(cur, { mode: 0o755 });
        continue;
      }
      throw new ShiplineError(
        `refusing to write ${file}: ${cur} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`,
        {
          kind: 'denied',
          data: { path: file },
        },
      );
    }
  } else mkdirSync(dir, { recursive: true, mode: 0o700 });
  removeFile(file);
  writeNew(file, text, mode);
}
