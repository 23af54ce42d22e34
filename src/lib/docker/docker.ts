// A small docker CLI runner over util/exec: argv only, the job's environment passed in
// (steps never read process.env), output streamed line by line, errors that name the
// command. Shared by build-push, kaniko-build and run-in-container: keep it small and stable.
import { exec, type ExecOptions, type ExecResult } from '../util/exec';
import { ShiplineError } from '../util/errors';
import type { Env } from '../util/env';
import { DIGEST_PATTERN } from '../registry/reference';

export interface DockerOptions {
  /** The job's environment (DOCKER_HOST, DOCKER_CONFIG, PATH …). Default: the parent's. */
  env?: Env;
  /** The docker binary (default `docker`). */
  bin?: string;
  cwd?: string;
}

export type RunOptions = Pick<
  ExecOptions,
  'input' | 'onLine' | 'capture' | 'timeoutMs' | 'allowFailure' | 'what' | 'hint' | 'cwd'
> & {
  /** Extra variables for this call only (e.g. DOCKER_BUILDKIT=0). */
  extraEnv?: Record<string, string>;
};

const PUSH_DIGEST = new RegExp(`digest:\\s*(${DIGEST_PATTERN})`);

/** The manifest digest in `docker push` output (`<tag>: digest: sha256:… size: N`). */
export function parsePushDigest(output: string): string | undefined {
  const m = PUSH_DIGEST.exec(output);
  return m?.[1];
}

export class Docker {
  readonly bin: string;
  private readonly env: Env | undefined;
  private readonly cwd: string | undefined;
  private buildxCache: boolean | undefined;

  constructor(opts: DockerOptions = {}) {
    this.bin = opts.bin ?? 'docker';
    this.env = opts.env;
    this.cwd = opts.cwd;
  }

  /** Runs `docker <args>`; throws a ShiplineError naming the command on a non-zero exit. */
  run(args: string[], opts: RunOptions = {}): Promise<ExecResult> {
    const { extraEnv, ...rest } = opts;
    const env = this.env || extraEnv ? { ...(this.env ?? process.env), ...extraEnv } : undefined;
    const cwd = rest.cwd ?? this.cwd;
    return exec(this.bin, args, {
      ...rest,
      ...(env ? { env } : {}),
      ...(cwd ? { cwd } : {}),
      what: rest.what ?? `docker ${args[0] ?? ''}`.trim(),
    });
  }

  /** True when the buildx plugin answers (`docker buildx version`); cached per instance. */
  async hasBuildx(): Promise<boolean> {
    if (this.buildxCache === undefined) {
      const r = await this.run(['buildx', 'version'], { allowFailure: true, timeoutMs: 20_000 }).catch(() => undefined);
      this.buildxCache = r !== undefined && r.code === 0;
    }
    return this.buildxCache;
  }

  /** Checks the daemon answers; the error says how to give the job a docker engine. */
  async ping(): Promise<string> {
    const r = await this.run(['version', '--format', '{{.Server.Version}}'], {
      allowFailure: true,
      timeoutMs: 30_000,
    });
    if (r.code !== 0) {
      throw new ShiplineError(`the docker engine is not reachable: ${r.stderr.trim().split('\n').pop() ?? ''}`, {
        hint: 'give the job a docker engine (GitLab: the docker:dind service and DOCKER_HOST; GitHub: a runner with docker)',
      });
    }
    return r.stdout.trim();
  }

  /** Pushes one reference; returns the manifest digest the registry stored. */
  async push(ref: string, opts: Pick<RunOptions, 'onLine' | 'timeoutMs'> = {}): Promise<string> {
    const r = await this.run(['push', ref], {
      ...opts,
      what: `docker push ${ref}`,
      hint: 'check the registry is reachable and the job is logged in to it with push rights',
    });
    const digest = parsePushDigest(r.stdout) ?? (await this.repoDigest(ref));
    if (!digest) throw new ShiplineError(`docker push ${ref} printed no digest and the image has no repo digest`);
    return digest;
  }

  /** Pulls one reference. With `optional`, a failure returns false instead of throwing. */
  async pull(
    ref: string,
    opts: { optional?: boolean; onLine?: RunOptions['onLine']; timeoutMs?: number } = {},
  ): Promise<boolean> {
    const r = await this.run(['pull', '--quiet', ref], {
      allowFailure: opts.optional === true,
      what: `docker pull ${ref}`,
      ...(opts.onLine ? { onLine: opts.onLine } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    return r.code === 0;
  }

  async tag(source: string, target: string): Promise<void> {
    await this.run(['tag', source, target]);
  }

  /** `docker image inspect --format`; undefined when the image does not exist. */
  async inspectImage(ref: string, format = '{{json .}}'): Promise<string | undefined> {
    const r = await this.run(['image', 'inspect', '--format', format, ref], { allowFailure: true });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.inspectImage(ref, '{{.Id}}')) !== undefined;
  }

  /** The image id (`sha256:…`), or undefined. */
  imageId(ref: string): Promise<string | undefined> {
    return this.inspectImage(ref, '{{.Id}}');
  }

  /** The registry digest of `ref`'s repository from RepoDigests (`sha256:…`), or undefined. */
  async repoDigest(ref: string): Promise<string | undefined> {
    const out = await this.inspectImage(ref, '{{json .RepoDigests}}');
    if (!out) return undefined;
    const repo = ref.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
    const list = JSON.parse(out) as string[] | null;
    const hit = (list ?? []).find((d) => d.startsWith(`${repo}@`));
    return hit?.slice(hit.indexOf('@') + 1);
  }

  /** `docker create --name <name> <image> [cmd]`; returns the container id. */
  async create(image: string, opts: { name?: string; cmd?: string[]; args?: string[] } = {}): Promise<string> {
    const args = [
      'create',
      ...(opts.name ? ['--name', opts.name] : []),
      ...(opts.args ?? []),
      image,
      ...(opts.cmd ?? []),
    ];
    const r = await this.run(args, { what: `docker create ${image}` });
    return r.stdout.trim().split('\n').pop() ?? '';
  }

  /** `docker cp SRC DEST`; one side is `<container>:<path>`. */
  async cp(source: string, dest: string): Promise<void> {
    await this.run(['cp', source, dest], { what: `docker cp ${source} ${dest}` });
  }

  /** Removes containers (force); returns false when any could not be removed. Missing ones are fine. */
  async rm(containers: string[]): Promise<boolean> {
    if (containers.length === 0) return true;
    const r = await this.run(['rm', '--force', ...containers], { allowFailure: true });
    return r.code === 0 || /No such container/i.test(r.stderr);
  }

  /** Removes image references (tags/ids); returns false when any could not be removed. */
  async imageRm(refs: string[], opts: { force?: boolean } = {}): Promise<boolean> {
    if (refs.length === 0) return true;
    const r = await this.run(['image', 'rm', ...(opts.force ? ['--force'] : []), ...refs], { allowFailure: true });
    return r.code === 0 || /No such image/i.test(r.stderr);
  }
}
