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
  /** ISO 8601 commit time, if the CI exposes it (or the checkout holds the commit). */
  commitTime: string | undefined;
  /** Where commitTime came from. */
  commitTimeFrom: 'ci' | 'event' | 'git' | 'SOURCE_DATE_EPOCH' | undefined;
  /** The repository, for OCI labels ('' when the CI does not say). */
  repository: RepositoryInfo;
  /** The run as docker/metadata-action reads it, for tag rules written for it. */
  anchor: AnchorView;
  projectUrl: string | undefined;
  projectPath: string | undefined;
  projectTitle: string | undefined;
  /** Unique per job run: used to name containers, sessions, temp files. */
  jobId: string | undefined;
  pipelineId: string | undefined;
  actor: string | undefined;
}

export interface RepositoryInfo {
  /** GitHub: the repository name; GitLab: CI_PROJECT_TITLE (or CI_PROJECT_NAME). */
  title: string;
  description: string;
  url: string;
  /** SPDX id (GitHub's payload `repository.license.spdx_id`; GitLab exposes none). */
  licenses: string;
}

export interface AnchorView {
  /** GitHub's event name; on GitLab `schedule` for scheduled pipelines, else CI_PIPELINE_SOURCE. */
  eventName: string;
  /** What GITHUB_REF names: a branch, a tag, a pull request (GitLab: merge request), or nothing. */
  refKind: 'branch' | 'tag' | 'pr' | undefined;
  /** The branch or tag name, or the request number; '' with no ref. */
  refName: string;
  /** The commit (the pull request head with DOCKER_METADATA_PR_HEAD_SHA=true). */
  sha: string;
  /** {{base_ref}}: a request's target branch, or the branch a tag push names. */
  baseRef: string;
  /** {{is_default_branch}} (GitHub: also true on create, discussion, issues and schedule events). */
  isDefaultBranch: boolean;
  defaultBranch: string;
  /** DOCKER_METADATA_SHORT_SHA_LENGTH, DOCKER_METADATA_ANNOTATIONS_LEVELS, DOCKER_METADATA_SET_OUTPUT_ENV as set. */
  shortShaLength: string | undefined;
  annotationLevels: string | undefined;
  setOutputEnv: string | undefined;
}

type Json = Record<string, unknown>;

/** Commit time of a sha, from somewhere other than the CI's variables (the checkout). */
export type CommitTimeLookup = (sha: string) => string | undefined;

function anchorKnobs(env: Env): Pick<AnchorView, 'shortShaLength' | 'annotationLevels' | 'setOutputEnv'> {
  return {
    shortShaLength: nonEmpty(env.DOCKER_METADATA_SHORT_SHA_LENGTH),
    annotationLevels: nonEmpty(env.DOCKER_METADATA_ANNOTATIONS_LEVELS),
    setOutputEnv: nonEmpty(env.DOCKER_METADATA_SET_OUTPUT_ENV),
  };
}

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
    commitTimeFrom: nonEmpty(env.CI_COMMIT_TIMESTAMP) ? 'ci' : undefined,
    repository: {
      title: nonEmpty(env.CI_PROJECT_TITLE) ?? env.CI_PROJECT_NAME ?? '',
      description: env.CI_PROJECT_DESCRIPTION ?? '',
      url: env.CI_PROJECT_URL ?? '',
      licenses: '',
    },
    anchor: {
      eventName: source === 'merge_request_event' ? 'pull_request' : source,
      refKind: mrIid ? 'pr' : tag ? 'tag' : nonEmpty(env.CI_COMMIT_BRANCH) ? 'branch' : undefined,
      refName: mrIid ?? tag ?? env.CI_COMMIT_BRANCH ?? '',
      sha:
        (mrIid && /^true$/i.test(env.DOCKER_METADATA_PR_HEAD_SHA ?? '')
          ? nonEmpty(env.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA)
          : undefined) ??
        env.CI_COMMIT_SHA ??
        '',
      baseRef: mrIid ? (env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME ?? '') : '',
      isDefaultBranch:
        !tag && !mrIid && nonEmpty(env.CI_COMMIT_BRANCH) !== undefined && env.CI_COMMIT_BRANCH === defaultBranch,
      defaultBranch: defaultBranch ?? '',
      ...anchorKnobs(env),
    },
    projectUrl: nonEmpty(env.CI_PROJECT_URL),
    projectPath: nonEmpty(env.CI_PROJECT_PATH),
    projectTitle: nonEmpty(env.CI_PROJECT_TITLE) ?? nonEmpty(env.CI_PROJECT_NAME),
    jobId: nonEmpty(env.CI_JOB_ID),
    pipelineId: nonEmpty(env.CI_PIPELINE_ID),
    actor: nonEmpty(env.GITLAB_USER_LOGIN),
  };
}

export function githubContext(env: Env, payload: Json, lookup?: CommitTimeLookup): CiContext {
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  let ref = env.GITHUB_REF ?? '';
  // pull_request_target runs on the base branch's ref; metadata-action reads the request's.
  if (/pull_request_target/.test(eventName) && str(get(payload, 'number')))
    ref = `refs/pull/${str(get(payload, 'number'))}/merge`;
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
  const sha = env.GITHUB_SHA ?? '';
  const anchorSha =
    (/true/i.test(env.DOCKER_METADATA_PR_HEAD_SHA ?? '') && /pull_request/.test(eventName)
      ? str(get(pr, 'head', 'sha'))
      : undefined) ?? sha;
  // The commit's own time: the push payload's commit entry, else the checkout's (git), else unknown.
  const commits = get(payload, 'commits');
  const fromCommits = Array.isArray(commits)
    ? str(
        get(
          commits.find((c) => get(c, 'id') === anchorSha),
          'timestamp',
        ),
      )
    : undefined;
  const headCommit = get(payload, 'head_commit');
  const fromHead =
    get(headCommit, 'id') === anchorSha || get(headCommit, 'id') === undefined
      ? str(get(headCommit, 'timestamp'))
      : undefined;
  const fromEvent = fromCommits ?? fromHead;
  const fromGit = fromEvent === undefined && anchorSha && lookup ? lookup(anchorSha) : undefined;
  const commitTime = fromEvent ?? fromGit;
  const refKind = ref.startsWith('refs/heads/')
    ? 'branch'
    : ref.startsWith('refs/tags/')
      ? 'tag'
      : ref.startsWith('refs/pull/')
        ? 'pr'
        : undefined;
  const refName =
    refKind === 'pr'
      ? ref.slice('refs/pull/'.length).replace(/\/merge$/, '')
      : refKind
        ? ref.replace(/^refs\/(heads|tags)\//, '')
        : '';
  const payloadBaseRef = str(get(payload, 'base_ref'));
  const prBase = str(get(pr, 'base', 'ref'));
  const refBranch = ref.replace(/^refs\/heads\//, '');
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
    commitTimeFrom: fromEvent ? 'event' : fromGit ? 'git' : undefined,
    repository: {
      title: str(get(payload, 'repository', 'name')) ?? '',
      description: str(get(payload, 'repository', 'description')) ?? '',
      url: str(get(payload, 'repository', 'html_url')) ?? (repo ? `${server}/${repo}` : ''),
      licenses: str(get(payload, 'repository', 'license', 'spdx_id')) ?? '',
    },
    anchor: {
      eventName,
      refKind,
      refName,
      sha: anchorSha,
      baseRef:
        refKind === 'tag' && payloadBaseRef
          ? payloadBaseRef.replace(/^refs\/heads\//, '')
          : refKind === 'pr' && prBase
            ? prBase
            : '',
      isDefaultBranch:
        refBranch !== '' && (refBranch === defaultBranch || /create|discussion|issues|schedule/.test(eventName)),
      defaultBranch: defaultBranch ?? '',
      ...anchorKnobs(env),
    },
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
    commitTimeFrom: commitTime ? 'git' : undefined,
    repository: { title: '', description: '', url: '', licenses: '' },
    anchor: {
      eventName: '',
      refKind: tag ? 'tag' : branch ? 'branch' : undefined,
      refName: tag ?? branch ?? '',
      sha: sha ?? '',
      baseRef: '',
      isDefaultBranch,
      defaultBranch,
      ...anchorKnobs(env),
    },
    projectUrl: undefined,
    projectPath: undefined,
    projectTitle: undefined,
    jobId: undefined,
    pipelineId: undefined,
    actor: undefined,
  };
}

/** Detects the CI from env; GitHub's event payload is read from GITHUB_EVENT_PATH. */
export function detectContext(
  env: Env,
  readJson: (path: string) => Json = readJsonFile,
  lookup: CommitTimeLookup = (sha) => gitCommitTime(sha, env.GITHUB_WORKSPACE),
): CiContext {
  let ctx: CiContext;
  if (env.GITHUB_ACTIONS === 'true') {
    const path = env.GITHUB_EVENT_PATH;
    ctx = githubContext(env, path ? readJson(path) : {}, lookup);
  } else if (env.GITLAB_CI === 'true' || env.CI_COMMIT_SHA !== undefined) {
    ctx = gitlabContext(env);
  } else {
    ctx = localContext(env);
  }
  // Reproducible builds: SOURCE_DATE_EPOCH wins over the CI's commit time when set.
  if (env.SOURCE_DATE_EPOCH && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) {
    ctx.commitTime = new Date(Number(env.SOURCE_DATE_EPOCH) * 1000).toISOString();
    ctx.commitTimeFrom = 'SOURCE_DATE_EPOCH';
  }
  return ctx;
}

/** The committer time of `sha` in the checkout at `cwd` (undefined without git, a checkout or the commit). */
export function gitCommitTime(sha: string, cwd: string | undefined): string | undefined {
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) return undefined;
  try {
    // Required here, not at the top: child_process costs ~5 ms of every step's start-up.
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const out = execFileSync('git', ['log', '-1', '--format=%cI', sha, '--'], {
      cwd,
      encoding: 'utf8',
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

function readJsonFile(path: string): Json {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch {
    return {};
  }
}
