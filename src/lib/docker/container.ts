// One long-lived container of an image, used for a job's commands (seed 003's trick):
// `docker run -d … sleep infinity`, the workspace streamed in as one tar, `docker exec`
// per command, `docker cp` out, `docker rm --force` at the end. Every container carries
// labels naming the step and the job that owns it, so cleanup removes only its own.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CiContext } from '../ci/context';
import type { Docker } from './docker';
import { tarDirectory, type TarOptions } from './context-tar';
import type { Env } from '../util/env';
import { ofKind, ShiplineError, type ErrorKind } from '../util/errors';
import { redact } from '../util/redact';
import { retry, type Verdict } from '../util/retry';
import { registryOf } from '../registry/reference';

export const STEP_LABEL = 'dev.shipline.step';
export const OWNER_LABEL = 'dev.shipline.owner';

export type PullPolicy = 'always' | 'missing' | 'never';

/**
 * The job's owner id: a short hash of everything that tells two jobs on one engine apart
 * (CI job id, project, workspace, runner). Same value in main and post of one job.
 */
export function ownerId(
  ci: Pick<CiContext, 'jobId' | 'projectPath' | 'pipelineId'>,
  workspace: string,
  env: Env,
): string {
  const parts = [
    ci.jobId ?? '',
    ci.pipelineId ?? '',
    ci.projectPath ?? '',
    workspace,
    env.RUNNER_NAME ?? '',
    env.CI_RUNNER_ID ?? '',
  ];
  // Outside CI there is no job id: the process's parent shell tells two local runs apart only by workspace.
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 10);
}

/** Default container name: `shipline-<job id>-<owner hash>`, valid for docker ([a-zA-Z0-9][a-zA-Z0-9_.-]*). */
export function defaultName(jobId: string | undefined, owner: string): string {
  const id = (jobId ?? 'local').replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 40);
  return `shipline-${id}-${owner}`;
}

/** Which `docker pull` failures are worth another try: throttling, 5xx, timeouts and resets only. */
export function classifyPullError(stderr: string): Verdict {
  if (/toomanyrequests|too many requests|HTTP status: 429|rate exceeded|rate limit/i.test(stderr))
    return { retry: true, reason: 'the registry throttled the pull (429)' };
  if (
    /HTTP status: 5\d\d|\b5\d\d (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)/i.test(stderr)
  ) {
    return { retry: true, reason: 'the registry answered with a server error' };
  }
  if (
    /i\/o timeout|TLS handshake timeout|connection reset|unexpected EOF|request canceled|Client\.Timeout/i.test(stderr)
  ) {
    return { retry: true, reason: 'a network timeout or reset' };
  }
  return { retry: false };
}

export interface PullRetry {
  maxAttempts?: number;
  deadlineMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (msg: string) => void;
}

/** One failed `docker pull`, classified: not-found, auth, transient (with the retry reason) or failed. */
function pullError(image: string, registry: string | undefined, stderr: string): ShiplineError {
  const why = redact(stderr.trim().split('\n').pop() ?? '').replace(/^Error response from daemon:\s*/, '');
  const from = registry ? ` registry ${registry}` : ' its registry';
  const verdict = classifyPullError(stderr);
  const notFound = /not found|manifest unknown|does not exist|pull access denied/i.test(stderr);
  const auth = /unauthorized|authentication required|denied|no basic auth/i.test(stderr);
  const kind: ErrorKind = verdict.retry ? 'transient' : notFound ? 'not-found' : auth ? 'auth' : 'failed';
  const message =
    kind === 'not-found'
      ? `image ${image} was not found in${from}: ${why}`
      : `could not pull image ${image} from${from}: ${why}`;
  return new ShiplineError(message, {
    kind,
    data: { image, registry, ...(verdict.retry ? { reason: verdict.reason } : {}) },
  });
}

/**
 * Makes `image` present per the policy; returns true when it pulled. Transient registry
 * failures are retried with backoff. Errors carry `data.image` and `data.registry`
 * (undefined when the reference does not parse); kind not-found for a missing image
 * (`data.policy` 'never' when it was not pulled), auth, transient (retries ran out) or failed.
 */
export async function ensureImage(
  docker: Docker,
  image: string,
  policy: PullPolicy,
  onLine?: (l: string) => void,
  retryOpts: PullRetry = {},
): Promise<boolean> {
  const present = policy === 'always' ? false : await docker.imageExists(image);
  if (present) return false;
  const registry = registryOf(image);
  if (policy === 'never') {
    throw new ShiplineError(`image ${image} is not on the docker engine and pull is 'never'`, {
      kind: 'not-found',
      data: { image, registry, policy },
    });
  }
  await retry(
    async () => {
      const r = await docker.run(['pull', '--', image], {
        allowFailure: true,
        what: `docker pull ${image}`,
        ...(onLine ? { onLine: (l) => onLine(l) } : {}),
      });
      if (r.code !== 0) throw pullError(image, registry, r.stderr);
    },
    {
      what: 'docker pull',
      maxAttempts: retryOpts.maxAttempts ?? 4,
      deadlineMs: retryOpts.deadlineMs ?? 120_000,
      classify: (e) => {
        const reason = ofKind(e, 'transient')?.data.reason;
        return typeof reason === 'string' ? { retry: true, reason } : { retry: false };
      },
      onRetry: ({ attempt, delayMs, reason }) =>
        retryOpts.onRetry?.(`pull attempt ${attempt} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`),
      ...(retryOpts.sleep ? { sleep: retryOpts.sleep } : {}),
    },
  );
  return true;
}

export interface StartSpec {
  image: string;
  name: string;
  workdir: string;
  /** The step that starts it (label). */
  step: string;
  /** Owner id of the job (label), so cleanup only removes this job's containers. */
  owner: string;
  /** Extra `docker run` options, already validated. */
  options: string[];
}

/** The argv of `docker run` for a keep-alive container. The command never holds a variable's value. */
export function runArgs(spec: StartSpec): string[] {
  return [
    'run',
    '--detach',
    '--name',
    spec.name,
    '--label',
    `${STEP_LABEL}=${spec.step}`,
    '--label',
    `${OWNER_LABEL}=${spec.owner}`,
    '--workdir',
    spec.workdir,
    ...spec.options,
    // The image's entrypoint would receive `infinity` as arguments; the container only waits.
    '--entrypoint',
    'sleep',
    // Options end here: the image is never read as one, whatever it holds.
    '--',
    spec.image,
    'infinity',
  ];
}

/** Labels of a container, or undefined when there is none of that name. */
export async function containerLabels(docker: Docker, name: string): Promise<Record<string, string> | undefined> {
  const r = await docker.run(['container', 'inspect', '--format', '{{json .Config.Labels}}', name], {
    allowFailure: true,
  });
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout.trim() || 'null') as Record<string, string> | null) ?? {};
}

export async function isRunning(docker: Docker, name: string): Promise<boolean> {
  const r = await docker.run(['container', 'inspect', '--format', '{{.State.Running}}', name], { allowFailure: true });
  return r.code === 0 && r.stdout.trim() === 'true';
}

/**
 * Starts the container. A container of the same name left by this same job (a retry) is
 * replaced; one owned by anything else is an error of kind conflict, never touched. A
 * failed start is kind failed, `data.problem` 'no-sleep' or 'network' when that is why.
 */
export async function startContainer(docker: Docker, spec: StartSpec): Promise<void> {
  const labels = await containerLabels(docker, spec.name);
  if (labels) {
    if (labels[OWNER_LABEL] !== spec.owner) {
      throw new ShiplineError(`a container named ${spec.name} already exists and was not started by this job`, {
        kind: 'conflict',
        data: { name: spec.name },
      });
    }
    await docker.rm([spec.name]);
  }
  const r = await docker.run(runArgs(spec), { allowFailure: true, what: `docker run ${spec.image}` });
  if (r.code !== 0) {
    await docker.rm([spec.name]);
    const why = redact(r.stderr.trim().split('\n').slice(-3).join('\n'));
    const noSleep = /sleep.*(not found|no such file)/i.test(r.stderr);
    throw new ShiplineError(`could not start a container of ${spec.image}: ${why}`, {
      ...(noSleep
        ? { hint: 'the image needs a `sleep` command (busybox, coreutils) to stay alive between commands' }
        : {}),
      data: { image: spec.image, problem: noSleep ? 'no-sleep' : /network/i.test(r.stderr) ? 'network' : undefined },
    });
  }
}

/** Removes the container only when it carries this job's owner label. Returns true when it removed one. */
export async function removeOwned(docker: Docker, name: string, owner: string): Promise<boolean> {
  const labels = await containerLabels(docker, name);
  if (!labels || labels[OWNER_LABEL] !== owner) return false;
  const ok = await docker.rm([name]);
  if (!ok)
    throw new ShiplineError(`could not remove container ${name}`, {
      hint: `remove it by hand: docker rm --force ${name}`,
    });
  return true;
}

export interface ExecSpec {
  container: string;
  workdir: string;
  /** Shell words, e.g. ['sh', '-e']; the command is passed after `-c`. */
  shell: string[];
  command: string;
  /** Variable NAMES passed through; their values come from `env`, never argv. */
  envNames: string[];
}

export function execArgs(spec: ExecSpec): string[] {
  return [
    'exec',
    ...spec.envNames.flatMap((n) => ['--env', n]),
    '--workdir',
    spec.workdir,
    spec.container,
    ...spec.shell,
    '-c',
    spec.command,
  ];
}

/** Runs one command in the container; resolves to its exit code (output streamed through onLine). */
export async function execCommand(
  docker: Docker,
  spec: ExecSpec,
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
): Promise<number> {
  const r = await docker.run(execArgs(spec), { allowFailure: true, capture: false, onLine, what: 'docker exec' });
  return r.code;
}

/**
 * Streams a directory into the container as one tar (`docker cp - <container>:<dest>`),
 * honouring its .dockerignore. The destination directory is created first.
 */
export async function copyIn(
  docker: Docker,
  env: Env,
  container: string,
  source: string,
  dest: string,
  tar: TarOptions = {},
): Promise<{ entries: number; bytes: number }> {
  await docker.run(['exec', container, 'mkdir', '-p', dest], { what: `mkdir -p ${dest} in ${container}` });
  let entries = 0;
  let bytes = 0;
  const child = spawn(docker.bin, ['cp', '-', `${container}:${dest}`], {
    env: env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const err: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  const counted = async function* () {
    for await (const chunk of tarDirectory(source, { ...tar, onEntry: (e) => (entries++, tar.onEntry?.(e)) })) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  let streamError: unknown;
  await pipeline(Readable.from(counted()), child.stdin).catch((e: unknown) => {
    streamError = e;
    child.stdin.destroy();
  });
  const code = await exited;
  if (code !== 0 || streamError) {
    const why =
      redact(Buffer.concat(err).toString('utf8').trim()) || (streamError instanceof Error ? streamError.message : '');
    throw new ShiplineError(
      `copying ${source} into ${container}:${dest} failed${code ? ` (docker cp exit code ${code})` : ''}: ${why}`,
      {
        hint: 'check the path exists and is readable, and that the container is running',
      },
    );
  }
  return { entries, bytes };
}

/** `docker cp <container>:<path> <hostPath>`; the host directory is created first. */
export async function copyOut(docker: Docker, container: string, path: string, hostPath: string): Promise<void> {
  await mkdir(dirname(hostPath), { recursive: true });
  await docker.run(['cp', `${container}:${path}`, hostPath], {
    what: `docker cp ${container}:${path} ${hostPath}`,
    hint: `check that the commands created ${path} in the container`,
  });
}
