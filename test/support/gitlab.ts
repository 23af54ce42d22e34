// Run a pipeline through gitlab-ci-local (4.73.0) in a throwaway git repository whose origin
// is https://gitlab.example.com/shipline/shipline.git, so components written as
// `$CI_SERVER_FQDN/$CI_PROJECT_PATH/<step>@$CI_COMMIT_SHA` resolve from its own working tree.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { repoRoot, run, runOk, type RunResult } from './exec';

export const GITLAB_REMOTE = 'https://gitlab.example.com/shipline/shipline.git';
export const GITLAB_PROJECT_PATH = 'shipline/shipline';
const GCL = path.join(repoRoot, 'node_modules', '.bin', 'gitlab-ci-local');

export type PipelineKind = 'default-branch' | 'branch' | 'mr' | 'tag';

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
  /** Run `image:` jobs on the host shell (default true: no public images offline). */
  forceShellExecutor?: boolean;
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

  const pv = pipelineVars(spec);
  // Never the checkout: nothing under it is trusted (docs/security.md).
  const home = opts.shiplineHome === undefined ? repoRoot : opts.shiplineHome;
  const variables: Record<string, string> = {
    ...(home === null ? {} : { SHIPLINE_HOME: home }),
    ...pv.variables,
    ...opts.variables,
  };
  // gitlab-ci-local wants a relative --cwd: run it from the project dir instead
  const args = ['--no-color', '--home', path.join(outer, 'gcl-home')];
  if (opts.forceShellExecutor !== false) args.push('--force-shell-executor');
  if (opts.fileVariables && Object.keys(opts.fileVariables).length) {
    const varsFile = path.join(outer, 'variables.yml');
    fs.writeFileSync(
      varsFile,
      Object.entries(opts.fileVariables)
        .map(([k, v]) => `${k}: ${yamlQuote(v)}`)
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

  const env = { ...(opts.env ?? process.env) };
  if (home === null) delete env.SHIPLINE_HOME;
  const raw = await run(GCL, args, { cwd: dir, env, timeoutMs: opts.timeoutMs ?? 300_000 });
  const readFile = (rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
  return {
    exitCode: raw.code,
    stdout: raw.stdout,
    stderr: raw.stderr,
    dir,
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
      fs.rmSync(outer, { recursive: true, force: true });
    },
  };
}
