// Pure input handling for run-in-container: the mode's needs, the shell, the options
// allow-list and the copy specs. Everything here raises InputError before any docker call.
import { posix } from 'node:path';
import type { InputValues } from '../../runtime/define';
import { parseReference, ReferenceError } from '../../lib/registry/reference';
import { InputError } from '../../runtime/inputs';
import { workspaceDestination } from '../shared/dockerfile';
import { registryHostProblem } from '../shared/registry';
import type { inputs } from './index';

export type Inputs = InputValues<typeof inputs>;
export const MODES = ['run', 'start', 'exec', 'stop'] as const;
export type Mode = (typeof MODES)[number];

export interface RunPlan {
  /** run/start create the container; exec and stop use the one a start made. */
  starts: boolean;
  /** run/start: the image to start. */
  image: string | undefined;
  /** Shell words that run each command, e.g. ['sh', '-e']. */
  shell: string[];
  /** `docker run` options: the network (unless the options chose one), --privileged, the allowed extras. */
  runOptions: string[];
  /** The user the options chose: copies are handed to it. */
  user: string | undefined;
  copies: CopySpec[];
  outs: CopySpec[];
  /** The container outlives the step (start, or run with keep): removed when the job ends. */
  stays: boolean;
}

/**
 * `check` of the image input: an image reference (`registry/team/app:tag`, `…@sha256:…`),
 * so no value reaches `docker run` / `docker pull` as an option (`--privileged`).
 */
export function imageCheck(v: string): string | undefined {
  if (v.startsWith('-')) return `'${v}' starts with '-': an image reference cannot (docker would read it as an option)`;
  try {
    const ref = parseReference(v);
    return registryHostProblem(v, ref.registry) ?? capitalsProblem(v, ref.registry);
  } catch (err) {
    if (err instanceof ReferenceError) return err.message;
    throw err;
  }
}

/**
 * Capitals in the repository path: the parser lowercases them, but the image is run by the
 * name as written and docker refuses it ("repository name must be lowercase").
 */
function capitalsProblem(value: string, registry: string): string | undefined {
  const v = value.trim();
  const noDigest = v.split('@')[0]!;
  const colon = noDigest.lastIndexOf(':');
  const noTag = colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
  const host = noTag.includes('/') && noTag.split('/')[0] === registry ? `${registry}/` : '';
  const path = noTag.slice(host.length);
  if (!/[A-Z]/.test(path)) return undefined;
  return `'${value}': docker refuses capitals in a repository; write ${host}${path.toLowerCase()}${v.slice(noTag.length)}`;
}

/** The plan of one call, from the inputs and the job's workspace; every input error is raised here. */
export function planRun(i: Inputs, workspace: string): RunPlan {
  const shell = splitWords(i.shell, 'shell');
  if (shell.length === 0)
    throw new InputError('shell', 'is empty', "give a shell, e.g. 'sh -e' or 'bash -eo pipefail'");
  const opts = parseRunOptions(i.options ?? '');
  const starts = i.mode === 'run' || i.mode === 'start';
  const copyInItems = i.copyIn.length ? i.copyIn : starts ? ['.'] : [];
  const copies =
    copyInItems.length === 1 && copyInItems[0] === 'none' ? [] : parseCopyIn(copyInItems, workspace, i.workdir);
  const outs = parseCopyOut(i.copyOut, workspace, i.workdir);
  if (starts && !i.image)
    throw new InputError(
      'image',
      `is required for mode ${i.mode}`,
      'give the image to run, e.g. registry.example.com/team/app:MR-7',
    );
  if (i.mode === 'exec' && i.run.length === 0 && copies.length === 0 && outs.length === 0) {
    throw new InputError('run', 'mode exec has nothing to do', 'give commands in run (or copy-in / copy-out)');
  }
  const network = opts.network ? [] : ['--network', i.network];
  return {
    starts,
    image: i.image,
    shell,
    runOptions: [...network, ...(i.privileged ? ['--privileged'] : []), ...opts.args],
    user: opts.user,
    copies,
    outs,
    stays: i.mode === 'start' || (i.mode === 'run' && i.keep),
  };
}

/** Splits an options (or shell) string into words: whitespace separates, '…' and "…" quote, \ escapes. */
export function splitWords(text: string, input: 'options' | 'shell' = 'options'): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote)
    throw new InputError(
      input,
      `unclosed ${quote} quote`,
      `close the quote, or escape it with \\ (e.g. --label 'a b')`,
    );
  if (has) words.push(cur);
  return words;
}

/** `docker run` options a job may add; the value says whether the option takes a value. */
const ALLOWED: Record<string, boolean> = {
  '--network': true,
  '--net': true,
  '--user': true,
  '-u': true,
  '--memory': true,
  '-m': true,
  '--memory-swap': true,
  '--cpus': true,
  '--shm-size': true,
  '--pids-limit': true,
  '--ulimit': true,
  '--tmpfs': true,
  '--add-host': true,
  '--hostname': true,
  '-h': true,
  '--dns': true,
  '--label': true,
  '-l': true,
  '--platform': true,
  '--read-only': false,
  '--init': false,
  '--stop-timeout': true,
};

/** Why an option is refused, and what to use instead. */
const REFUSED: Record<string, string> = {
  '--privileged': 'set the input privileged: true instead',
  '--env': "values would be in argv (visible in ps): list variable names in the input 'env'",
  '-e': "values would be in argv (visible in ps): list variable names in the input 'env'",
  '--env-file': "list variable names in the input 'env'",
  '--name': "use the input 'name'",
  '--workdir': "use the input 'workdir'",
  '-w': "use the input 'workdir'",
  '--entrypoint': 'the step keeps the container alive with its own entrypoint',
  '--rm': 'the step removes the container itself',
  '--detach': 'the step always detaches',
  '-d': 'the step always detaches',
  '--volume': 'host mounts are not allowed: use copy-in and copy-out',
  '-v': 'host mounts are not allowed: use copy-in and copy-out',
  '--mount': 'host mounts are not allowed: use copy-in and copy-out',
  '--volumes-from': 'host mounts are not allowed: use copy-in and copy-out',
  '--cap-add': 'extra capabilities need privileged: true',
  '--security-opt': 'weakens isolation; not allowed',
  '--device': 'host devices are not allowed',
  '--pid': 'sharing the host PID namespace is not allowed',
  '--ipc': 'sharing the host IPC namespace is not allowed',
  '--userns': 'not allowed',
  '--cgroupns': 'not allowed',
  '--uts': 'not allowed',
};

export const ALLOWED_OPTIONS = Object.keys(ALLOWED);

export interface ParsedOptions {
  args: string[];
  /** The network the options chose, if any. */
  network: string | undefined;
  /** The user the options chose (`--user`/`-u`), if any. */
  user: string | undefined;
}

/** Validates `docker run` options against the allow-list; the error names the option. */
export function parseRunOptions(text: string): ParsedOptions {
  const words = splitWords(text);
  const args: string[] = [];
  let network: string | undefined;
  let user: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.startsWith('--') ? w.indexOf('=') : -1;
    const flag = eq > 0 ? w.slice(0, eq) : w;
    if (!flag.startsWith('-')) {
      throw new InputError(
        'options',
        `'${w}' is not an option (options are docker run flags, e.g. --memory 512m)`,
        'give docker run flags and their values only; the image and commands have inputs of their own',
      );
    }
    const refused = REFUSED[flag];
    if (refused !== undefined)
      throw new InputError('options', `option '${flag}' is not allowed: ${refused}`, `remove '${flag}' from options`);
    const takesValue = ALLOWED[flag];
    if (takesValue === undefined) {
      throw new InputError('options', `option '${flag}' is not allowed`, `allowed: ${ALLOWED_OPTIONS.join(' ')}`);
    }
    let value: string | undefined;
    if (takesValue) {
      if (eq > 0) value = w.slice(eq + 1);
      else {
        value = words[++i];
        if (value === undefined)
          throw new InputError('options', `option '${flag}' needs a value`, `write ${flag} <value> or ${flag}=<value>`);
      }
      // A value that reads as another option (`--user --privileged`) is refused; -1 (unlimited) is a value.
      if (value.startsWith('-') && !/^-\d+$/.test(value))
        throw new InputError(
          'options',
          `the value of '${flag}' is '${value}', which reads as an option`,
          `give ${flag} its value right after it`,
        );
      if ((flag === '--user' || flag === '-u') && !/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(value))
        throw new InputError(
          'options',
          `'${value}' is not a user (name or uid, optionally :group)`,
          'e.g. --user 1000 or --user app:app',
        );
      args.push(flag, value);
    } else {
      if (eq > 0) throw new InputError('options', `option '${flag}' takes no value`, `write ${flag} alone`);
      args.push(flag);
    }
    if (flag === '--network' || flag === '--net') network = value;
    if (flag === '--user' || flag === '-u') user = value;
  }
  return { args, network, user };
}

export interface CopySpec {
  /** Host side (absolute). */
  host: string;
  /** Container side (absolute). */
  container: string;
}

/**
 * A workspace path after realpath: `..`, absolute paths elsewhere and symlinks leading out
 * are refused; so is a path the file system refuses (too long, a loop), as the input's error.
 */
const insideWorkspace = (input: string, workspace: string, p: string, allowRoot: boolean): string =>
  workspaceDestination(input, workspace, p, { allowRoot });

function containerPath(p: string, workdir: string): string {
  return posix.normalize(p.startsWith('/') ? p : posix.join(workdir, p));
}

/** `copy-in` items: `path` or `path:container-dir` (default: the workdir). */
export function parseCopyIn(items: string[], workspace: string, workdir: string): CopySpec[] {
  return items.map((item) => {
    const i = item.indexOf(':');
    const host = i >= 0 ? item.slice(0, i) : item;
    const dest = i >= 0 ? item.slice(i + 1) : '';
    if (host === '')
      throw new InputError('copy-in', `'${item}' has no workspace path`, 'use path or path:container-dir');
    return {
      host: insideWorkspace('copy-in', workspace, host, true),
      container: containerPath(dest || workdir, workdir),
    };
  });
}

/** `copy-out` items: `container-path:workspace-path` (a relative container path is under the workdir). */
export function parseCopyOut(items: string[], workspace: string, workdir: string): CopySpec[] {
  return items.map((item) => {
    const i = item.lastIndexOf(':');
    if (i <= 0 || i === item.length - 1) {
      throw new InputError(
        'copy-out',
        `'${item}' is not container-path:workspace-path`,
        'e.g. dist/artifact.zip:artifact.zip',
      );
    }
    return {
      container: containerPath(item.slice(0, i), workdir),
      host: insideWorkspace('copy-out', workspace, item.slice(i + 1), false),
    };
  });
}

export const NAME_RE = '[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}';
export const ENV_NAME_RE = '[A-Za-z_][A-Za-z0-9_]*';
