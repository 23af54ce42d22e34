// Run a pipeline through gitlab-ci-local (4.73.0) in a throwaway git repository whose origin
// is https://gitlab.example.com/shipline/shipline.git, so components written as
// `$CI_SERVER_FQDN/$CI_PROJECT_PATH/<step>@$CI_COMMIT_SHA` resolve from its own working tree.
// Two executors: the host shell (default: `image:` jobs run on the host, SHIPLINE_HOME standing
// in for the job image), or gitlab-ci-local's docker executor (`executor: 'docker'`): every job
// in its image's container, with a helper image, host networking and the engine's socket.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { repoRoot, run, runOk, type RunResult } from './exec';

export const GITLAB_REMOTE = 'https://gitlab.example.com/shipline/shipline.git';
export const GITLAB_PROJECT_PATH = 'shipline/shipline';
const GCL = path.join(repoRoot, 'node_modules', '.bin', 'gitlab-ci-local');

export type PipelineKind = 'default-branch' | 'branch' | 'mr' | 'tag';

/** gitlab-ci-local's CI_REGISTRY when none is given (4.73: `local-registry.<remote host>`). */
export const GCL_DEFAULT_CI_REGISTRY = 'local-registry.gitlab.example.com';

/** gitlab-ci-local's docker executor (`executor: 'docker'`). */
export interface DockerExecutorOptions {
  /** `--helper-image`: gitlab-ci-local runs it to fill the volumes and to copy artifacts out (bash + rsync). */
  helperImage: string;
  /**
   * A job image to stand in as the templates' default image: it is tagged
   * `$CI_REGISTRY/<project>/job:<component sha>` (CI_REGISTRY from `variables`, else gitlab-ci-local's
   * default) after the commit, found by the default pull policy (if-not-present) without a pull,
   * and untagged by cleanup().
   */
  defaultImage?: string;
  /** Project path of that tag (the templates' `shipline-project` input; default shipline/shipline). */
  defaultImageProject?: string;
  /** `--network` of job containers (default `host`: the bench listens on loopback). */
  network?: string;
  /**
   * The engine's socket on the host, mounted at /var/run/docker.sock in job containers (socket
   * binding, as many runners do); default: the path of DOCKER_HOST (unix://) or /var/run/docker.sock;
   * null: no socket.
   */
  socket?: string | null;
  /** More `--volume` mounts (`host-path:container-path[:opts]`). */
  volumes?: string[];
  /**
   * `--security-opt` values for job containers (e.g. `seccomp=unconfined`, what buildah needs to
   * unshare a user namespace), like a runner's `security_opt` in config.toml. gitlab-ci-local has no
   * such flag: a `--container-executable` wrapper adds them to every `docker create` it runs.
   */
  securityOpt?: string[];
  /** `--privileged` for job containers. */
  privileged?: boolean;
}

export interface PipelineSpec {
  kind: PipelineKind;
  /** Branch for `branch` pipelines and the MR source branch (default feature/x). */
  branch?: string;
  /** Tag for `tag` pipelines (default v1.2.3). */
  tag?: string;
  /** MR iid (default 7) and target branch (default main). */
  mrIid?: string;
  targetBranch?: string;
}

export interface RunGitlabOptions {
  /** The `.gitlab-ci.yml` text, or an object serialised as YAML. */
  ciYml: string | Record<string, unknown>;
  /** Job(s) to run (rules are then ignored by gitlab-ci-local); default: the whole pipeline. */
  job?: string | string[];
  /** Passed as `--variable NAME=value` (visible in argv: not for secrets). */
  variables?: Record<string, string>;
  /** Written to a variables file outside the repository (`--variables-file`): for secrets. */
  fileVariables?: Record<string, string>;
  /** Variables to unset (`--unset-variable`), beyond those the pipeline kind unsets. */
  unset?: string[];
  pipeline?: PipelineKind | PipelineSpec;
  /** Repo-relative paths copied into the temp repo (default: templates and dist when present). */
  copy?: string[];
  /** Extra files written into the temp repo before the commit (path → content). */
  files?: Record<string, string>;
  /** Use this directory for the project (created if missing) instead of a fresh temp dir. */
  cwd?: string;
  /**
   * SHIPLINE_HOME of the job, standing in for the job image's /opt/shipline: default this
   * repository (its dist/, outside the job's checkout); null leaves it unset, so the
   * template fetches the pinned dist/ into the job's private directory.
   */
  shiplineHome?: string | null;
  /** Run `image:` jobs on the host shell (default true: no public images offline). Ignored with the docker executor. */
  forceShellExecutor?: boolean;
  /**
   * `shell` (default): `--force-shell-executor`, unless forceShellExecutor is false. `docker`:
   * gitlab-ci-local's docker executor with `docker` (required); SHIPLINE_HOME is then not set
   * (default shiplineHome null): the job image's own ENV decides.
   */
  executor?: 'shell' | 'docker';
  docker?: DockerExecutorOptions;
  /** Also run the `needs` of the named job(s). */
  needs?: boolean;
  extraArgs?: string[];
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface GitlabRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The temp repository (project dir). */
  dir: string;
  /** The pipeline's commit (`$[[ component.sha ]]`, CI_COMMIT_SHA). */
  sha: string;
  args: string[];
  raw: RunResult;
  /** Read a file of the project dir (e.g. '.gitlab-ci-local/artifacts/<job>/...'). */
  readFile(rel: string): string;
  /** The dotenv report of a job, parsed (undefined when absent). */
  dotenv(job: string): Record<string, string> | undefined;
  /** The job's log as gitlab-ci-local saved it. */
  jobLog(job: string): string;
  cleanup(): void;
}

/** An include entry for a component of this repository at the pipeline's own commit. */
export function componentInclude(step: string, inputs?: Record<string, unknown>): Record<string, unknown> {
  const entry: Record<string, unknown> = { component: `$CI_SERVER_FQDN/$CI_PROJECT_PATH/${step}@$CI_COMMIT_SHA` };
  if (inputs) entry.inputs = inputs;
  return entry;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Shipline Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Shipline Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
};

function pipelineVars(spec: PipelineSpec): { variables: Record<string, string>; unset: string[] } {
  switch (spec.kind) {
    case 'default-branch':
    case 'branch':
      // gitlab-ci-local derives these from the repo: branch from HEAD, default branch from origin/HEAD
      return { variables: {}, unset: [] };
    case 'mr': {
      const iid = spec.mrIid ?? '7';
      const source = spec.branch ?? 'feature/x';
      const target = spec.targetBranch ?? 'main';
      return {
        variables: {
          CI_PIPELINE_SOURCE: 'merge_request_event',
          CI_MERGE_REQUEST_IID: iid,
          CI_MERGE_REQUEST_ID: String(100000 + Number(iid)),
          CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: source,
          CI_MERGE_REQUEST_TARGET_BRANCH_NAME: target,
          CI_MERGE_REQUEST_REF_PATH: `refs/merge-requests/${iid}/head`,
          CI_MERGE_REQUEST_PROJECT_PATH: GITLAB_PROJECT_PATH,
          CI_MERGE_REQUEST_PROJECT_URL: `https://gitlab.example.com/${GITLAB_PROJECT_PATH}`,
          CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: GITLAB_PROJECT_PATH,
          CI_MERGE_REQUEST_TITLE: 'Test merge request',
          CI_MERGE_REQUEST_EVENT_TYPE: 'detached',
          CI_COMMIT_REF_NAME: source,
        },
        unset: ['CI_COMMIT_BRANCH'],
      };
    }
    case 'tag': {
      const tag = spec.tag ?? 'v1.2.3';
      return {
        variables: {
          CI_COMMIT_TAG: tag,
          CI_COMMIT_REF_NAME: tag,
          CI_COMMIT_REF_SLUG: tag
            .toLowerCase()
            .replace(/[^a-z0-9]/g, '-')
            .slice(0, 63)
            .replace(/^-+|-+$/g, ''),
          CI_COMMIT_TAG_MESSAGE: '',
        },
        unset: ['CI_COMMIT_BRANCH'],
      };
    }
  }
}

const yamlQuote = (v: string) => JSON.stringify(v);

export async function runGitlabCiLocal(opts: RunGitlabOptions): Promise<GitlabRunResult> {
  const spec: PipelineSpec =
    typeof opts.pipeline === 'string' ? { kind: opts.pipeline } : (opts.pipeline ?? { kind: 'default-branch' });
  const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-gcl-'));
  const dir = opts.cwd ?? path.join(outer, 'project');
  fs.mkdirSync(dir, { recursive: true });
  const gitEnv = { ...process.env, ...GIT_ENV };
  const git = (...args: string[]) =>
    runOk('git', ['-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
      cwd: dir,
      env: gitEnv,
    });

  if (!fs.existsSync(path.join(dir, '.git'))) {
    await git('init', '-q', '-b', 'main');
    await git('remote', 'add', 'origin', GITLAB_REMOTE);
  }
  const copy = opts.copy ?? ['templates', 'dist'].filter((p) => fs.existsSync(path.join(repoRoot, p)));
  for (const rel of copy) fs.cpSync(path.join(repoRoot, rel), path.join(dir, rel), { recursive: true });
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  const ciText = typeof opts.ciYml === 'string' ? opts.ciYml : toYaml(opts.ciYml);
  fs.writeFileSync(path.join(dir, '.gitlab-ci.yml'), ciText);
  fs.writeFileSync(path.join(dir, '.gitignore'), '.gitlab-ci-local/\n');
  await git('add', '-A');
  await git('commit', '-q', '--allow-empty', '-m', 'test pipeline');
  // origin/HEAD -> main: the default branch, and no `git remote set-head` warning
  await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  await git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  if (spec.kind === 'branch' || spec.kind === 'mr') await git('checkout', '-q', '-B', spec.branch ?? 'feature/x');
  if (spec.kind === 'tag') await git('tag', '-f', spec.tag ?? 'v1.2.3');
  const sha = (await git('rev-parse', 'HEAD')).stdout.trim();

  const docker = opts.executor === 'docker' ? opts.docker : undefined;
  if (opts.executor === 'docker' && !docker)
    throw new Error("runGitlabCiLocal: executor 'docker' needs the docker options");
  const pv = pipelineVars(spec);
  // Never the checkout: nothing under it is trusted (docs/security.md).
  const home = opts.shiplineHome === undefined ? (docker ? null : repoRoot) : opts.shiplineHome;
  const variables: Record<string, string> = {
    ...(home === null ? {} : { SHIPLINE_HOME: home }),
    ...pv.variables,
    ...opts.variables,
  };
  // gitlab-ci-local wants a relative --cwd: run it from the project dir instead
  const args = ['--no-color', '--home', path.join(outer, 'gcl-home')];
  const env = { ...(opts.env ?? process.env) };
  const tagged: string[] = [];
  if (docker) args.push(...dockerExecutorArgs(docker, outer, env));
  else if (opts.forceShellExecutor !== false) args.push('--force-shell-executor');
  if (opts.fileVariables && Object.keys(opts.fileVariables).length) {
    const varsFile = path.join(outer, 'variables.yml');
    fs.writeFileSync(
      varsFile,
      Object.entries(opts.fileVariables)
        // The typed form: gitlab-ci-local takes a plain value starting with `/` or `~` for a
        // file path (a key line starting with `/` would reach the job as a temp file's path).
        .map(([k, v]) => `${k}: { type: variable, values: { "*": ${yamlQuote(v)} } }`)
        .join('\n') + '\n',
      { mode: 0o600 },
    );
    args.push('--variables-file', path.relative(dir, varsFile));
  }
  for (const [k, v] of Object.entries(variables)) args.push('--variable', `${k}=${v}`);
  for (const name of [...pv.unset, ...(opts.unset ?? [])]) args.push('--unset-variable', name);
  // overriding predefined CI_* variables is the point here: silence gitlab-ci-local's warning
  const predefined = Object.keys(variables).filter((k) => k.startsWith('CI_'));
  if (predefined.length) args.push('--ignore-predefined-vars', predefined.join(','));
  if (opts.needs) args.push('--needs');
  args.push(...(opts.extraArgs ?? []));
  for (const j of opts.job === undefined ? [] : Array.isArray(opts.job) ? opts.job : [opts.job]) args.push(j);

  if (home === null) delete env.SHIPLINE_HOME;
  const untag = () => {
    if (tagged.length)
      spawnSync('docker', ['image', 'rm', ...tagged.splice(0)], { env, stdio: 'ignore', timeout: 60_000 });
  };
  let raw: RunResult;
  try {
    if (docker?.defaultImage) {
      const registry = variables.CI_REGISTRY ?? GCL_DEFAULT_CI_REGISTRY;
      const ref = `${registry}/${docker.defaultImageProject ?? GITLAB_PROJECT_PATH}/job:${sha}`;
      tagged.push(ref);
      await runOk('docker', ['image', 'tag', docker.defaultImage, ref], { env });
    }
    raw = await run(GCL, args, { cwd: dir, env, timeoutMs: opts.timeoutMs ?? 300_000 });
  } catch (e) {
    untag();
    throw e;
  }
  const readFile = (rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
  return {
    exitCode: raw.code,
    stdout: raw.stdout,
    stderr: raw.stderr,
    dir,
    sha,
    args,
    raw,
    readFile,
    dotenv: (job) => {
      // gitlab-ci-local keeps the report under its own path, e.g. dotenv/.shipline/outputs.env.
      const d = path.join(dir, '.gitlab-ci-local', 'artifacts', job, '.gitlab-ci-reports', 'dotenv');
      if (!fs.existsSync(d)) return undefined;
      const out: Record<string, string> = {};
      for (const f of fs.readdirSync(d, { recursive: true, encoding: 'utf8' })) {
        const file = path.join(d, f);
        if (!fs.statSync(file).isFile()) continue;
        for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
          const i = line.indexOf('=');
          if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
        }
      }
      return out;
    },
    jobLog: (job) => readFile(path.join('.gitlab-ci-local', 'output', `${job.replace(/[^\w-]/g, '-')}.log`)),
    cleanup: () => {
      untag();
      fs.rmSync(outer, { recursive: true, force: true });
    },
  };
}

/** The engine's socket path on the host: DOCKER_HOST's when it is unix://, else the default. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST ?? '';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

/** gitlab-ci-local's docker-executor flags (and the security-opt wrapper, written under `outer`). */
function dockerExecutorArgs(d: DockerExecutorOptions, outer: string, env: NodeJS.ProcessEnv): string[] {
  const args = ['--helper-image', d.helperImage, '--network', d.network ?? 'host', '--pull-policy', 'if-not-present'];
  const socket = d.socket === undefined ? dockerSocketPath(env) : d.socket;
  if (socket) args.push('--volume', `${socket}:/var/run/docker.sock`);
  for (const v of d.volumes ?? []) args.push('--volume', v);
  if (d.privileged) args.push('--privileged');
  if (d.securityOpt?.length) {
    // gitlab-ci-local runs `<executable> create …` through bash for job and helper containers.
    const wrapper = path.join(outer, 'docker-security-opt');
    const opts = d.securityOpt.map((o) => `--security-opt ${JSON.stringify(o)}`).join(' ');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ "$1" = create ]; then shift; exec docker create ${opts} "$@"; fi\nexec docker "$@"\n`,
      { mode: 0o755 },
    );
    args.push('--container-executable', wrapper);
  }
  return args;
}
