// One normalised view of "what is this pipeline building" from GitHub's env + event
// payload or GitLab's CI_* variables, so tag rules never look at a provider directly.
import { readFileSync } from 'node:fs';
import type { Env } from '../util/env';

export type CiProvider = 'github' | 'gitlab' | 'local';
export type CiEvent = 'merge_request' | 'default_branch' | 'branch' | 'tag' | 'schedule' | 'manual' | 'unknown';

export interface CiContext {
  provider: CiProvider;
  /** What started the pipeline, most specific first (a schedule on main is 'schedule'). */
  event: CiEvent;
  /** Branch the commit is on (MR: the source branch); undefined for tags. */
  branch: string | undefined;
  tag: string | undefined;
  /** Branch or tag name. */
  refName: string | undefined;
  sha: string | undefined;
  mrIid: string | undefined;
  mrTargetBranch: string | undefined;
  defaultBranch: string | undefined;
  isDefaultBranch: boolean;
  /** ISO 8601 commit time, if the CI exposes it. */
  commitTime: string | undefined;
  projectUrl: string | undefined;
  projectPath: string | undefined;
  projectTitle: string | undefined;
  /** Unique per job run: used to name containers, sessions, temp files. */
  jobId: string | undefined;
  pipelineId: string | undefined;
  actor: string | undefined;
}

type Json = Record<string, unknown>;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

function get(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[p];
  }
  return cur;
}
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

export function gitlabContext(env: Env): CiContext {
  const tag = nonEmpty(env.CI_COMMIT_TAG);
  const mrIid = nonEmpty(env.CI_MERGE_REQUEST_IID);
  const branch = tag
    ? undefined
    : (nonEmpty(env.CI_COMMIT_BRANCH) ?? nonEmpty(env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME));
  const defaultBranch = nonEmpty(env.CI_DEFAULT_BRANCH);
  const source = env.CI_PIPELINE_SOURCE ?? '';
  const isDefaultBranch = !tag && !mrIid && branch !== undefined && branch === defaultBranch;
  let event: CiEvent = 'unknown';
  if (source === 'schedule') event = 'schedule';
  else if (mrIid) event = 'merge_request';
  else if (tag) event = 'tag';
  else if (isDefaultBranch) event = 'default_branch';
  else if (branch) event = 'branch';
  else if (source === 'web' || source === 'api' || source === 'trigger') event = 'manual';
  return {
    provider: 'gitlab',
    event,
    branch,
    tag,
    refName: tag ?? branch ?? nonEmpty(env.CI_COMMIT_REF_NAME),
    sha: nonEmpty(env.CI_COMMIT_SHA),
    mrIid,
    mrTargetBranch: nonEmpty(env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME),
    defaultBranch,
    isDefaultBranch,
    commitTime: nonEmpty(env.CI_COMMIT_TIMESTAMP),
    projectUrl: nonEmpty(env.CI_PROJECT_URL),
    projectPath: nonEmpty(env.CI_PROJECT_PATH),
    projectTitle: nonEmpty(env.CI_PROJECT_TITLE) ?? nonEmpty(env.CI_PROJECT_NAME),
    jobId: nonEmpty(env.CI_JOB_ID),
    pipelineId: nonEmpty(env.CI_PIPELINE_ID),
    actor: nonEmpty(env.GITLAB_USER_LOGIN),
  };
}

export function githubContext(env: Env, payload: Json): CiContext {
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  const ref = env.GITHUB_REF ?? '';
  const defaultBranch = str(get(payload, 'repository', 'default_branch'));
  const pr = get(payload, 'pull_request');
  const isPr = pr !== undefined && (eventName === 'pull_request' || eventName === 'pull_request_target');
  const tag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
  const branch = isPr
    ? (nonEmpty(env.GITHUB_HEAD_REF) ?? str(get(pr, 'head', 'ref')))
    : ref.startsWith('refs/heads/')
      ? ref.slice('refs/heads/'.length)
      : undefined;
  const mrIid = isPr ? (str(get(payload, 'number')) ?? str(get(pr, 'number'))) : undefined;
  const isDefaultBranch = !isPr && !tag && branch !== undefined && branch === defaultBranch;
  let event: CiEvent = 'unknown';
  if (eventName === 'schedule') event = 'schedule';
  else if (isPr) event = 'merge_request';
  else if (tag) event = 'tag';
  else if (isDefaultBranch) event = 'default_branch';
  else if (branch) event = 'branch';
  if (event === 'unknown' && (eventName === 'workflow_dispatch' || eventName === 'repository_dispatch'))
    event = 'manual';
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repo = nonEmpty(env.GITHUB_REPOSITORY);
  const commitTime =
    str(get(payload, 'head_commit', 'timestamp')) ??
    str(get(pr, 'head', 'repo', 'pushed_at')) ??
    str(get(payload, 'repository', 'pushed_at'));
  return {
    provider: 'github',
    event,
    branch,
    tag,
    refName: tag ?? branch ?? nonEmpty(env.GITHUB_REF_NAME),
    sha: nonEmpty(env.GITHUB_SHA),
    mrIid,
    mrTargetBranch: isPr ? (nonEmpty(env.GITHUB_BASE_REF) ?? str(get(pr, 'base', 'ref'))) : undefined,
    defaultBranch,
    isDefaultBranch,
    commitTime: commitTime && /^\d+$/.test(commitTime) ? new Date(Number(commitTime) * 1000).toISOString() : commitTime,
    projectUrl: repo ? `${server}/${repo}` : undefined,
    projectPath: repo,
    projectTitle: str(get(payload, 'repository', 'name')) ?? repo?.split('/')[1],
    jobId: env.GITHUB_RUN_ID
      ? `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}-${env.GITHUB_JOB ?? 'job'}`
      : undefined,
    pipelineId: nonEmpty(env.GITHUB_RUN_ID),
    actor: nonEmpty(env.GITHUB_ACTOR),
  };
}

/** Outside CI: what the checkout says (one `git` call; nothing if git or a repo is missing). */
export function localContext(env: Env, cwd?: string): CiContext {
  let sha: string | undefined;
  let branch: string | undefined;
  let tag: string | undefined;
  let commitTime: string | undefined;
  try {
    // Required here, not at the top: child_process costs ~5 ms of every step's start-up.
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const out = execFileSync('git', ['log', '-1', '--format=%H%n%cI%n%D'], {
      cwd,
      encoding: 'utf8',
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).split('\n');
    sha = nonEmpty(out[0]);
    commitTime = nonEmpty(out[1]);
    for (const d of (out[2] ?? '').split(', ')) {
      if (d.startsWith('HEAD -> ')) branch = d.slice('HEAD -> '.length);
      else if (d.startsWith('tag: ') && !tag) tag = d.slice('tag: '.length);
    }
  } catch {
    // not a git checkout: tags then come from explicit rules only
  }
  const defaultBranch = nonEmpty(env.SHIPLINE_DEFAULT_BRANCH) ?? 'main';
  const isDefaultBranch = !tag && branch === defaultBranch;
  return {
    provider: 'local',
    event: tag ? 'tag' : isDefaultBranch ? 'default_branch' : branch ? 'branch' : 'unknown',
    branch: tag ? undefined : branch,
    tag,
    refName: tag ?? branch,
    sha,
    mrIid: undefined,
    mrTargetBranch: undefined,
    defaultBranch,
    isDefaultBranch,
    commitTime,
    projectUrl: undefined,
    projectPath: undefined,
    projectTitle: undefined,
    jobId: undefined,
    pipelineId: undefined,
    actor: undefined,
  };
}

/** Detects the CI from env; GitHub's event payload is read from GITHUB_EVENT_PATH. */
export function detectContext(env: Env, readJson: (path: string) => Json = readJsonFile): CiContext {
  let ctx: CiContext;
  if (env.GITHUB_ACTIONS === 'true') {
    const path = env.GITHUB_EVENT_PATH;
    ctx = githubContext(env, path ? readJson(path) : {});
  } else if (env.GITLAB_CI === 'true' || env.CI_COMMIT_SHA !== undefined) {
    ctx = gitlabContext(env);
  } else {
    ctx = localContext(env);
  }
  // Reproducible builds: SOURCE_DATE_EPOCH wins over the CI's commit time when set.
  if (env.SOURCE_DATE_EPOCH && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) {
    ctx.commitTime = new Date(Number(env.SOURCE_DATE_EPOCH) * 1000).toISOString();
  }
  return ctx;
}

function readJsonFile(path: string): Json {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch {
    return {};
  }
}
