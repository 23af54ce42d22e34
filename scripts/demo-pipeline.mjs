#!/usr/bin/env node
// The demo's pipeline A (examples/seed-a/.gitlab-ci.yml) as a user sees it, under
// gitlab-ci-local on the test bench: one throwaway project made from examples/seed-a (its
// shipline includes pinned to the pipeline's own commit, resolved from the project's
// templates/; the job image's /opt/shipline is this checkout, SHIPLINE_HOME), and four
// pipelines on it, as they follow each other:
//
//   merge request !42   build both images (tag MR-42), test in one container, deploy review/42
//   stop review         the manual stop of review/42: untag MR-42
//   default branch      the merge on main: <short sha> + latest, deploy to staging
//   release tag v1.0.0  the tag on both images, deploy to production
//
// ECR is the bench's loopback STS + ECR (assume-role with a GitLab id_token minted by the
// bench's OIDC issuer, in a role made for this run) in front of its basic-auth registry.
// Prints each job's progress on stderr, then a table (pipeline, job, result, tags, digest,
// seconds) on stdout. At the end it removes what it made (registry repositories, local
// images, the project), unless --keep. Exit 0 when every pipeline passed.
//
// Usage: node scripts/demo-pipeline.mjs [--pipelines mr,stop,main,tag] [--keep] [--json FILE]
//        (`bash scripts/testbed up` and `bash scripts/job-image base` first)
/* global fetch, AbortSignal */
import { spawn, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values: opt } = parseArgs({
  options: {
    pipelines: { type: 'string', default: 'mr,stop,main,tag' },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    timeout: { type: 'string', default: '900' },
  },
});
const ALL = ['mr', 'stop', 'main', 'tag'];
const wanted = opt.pipelines.split(',').map((s) => s.trim());
if (wanted.some((p) => !ALL.includes(p))) {
  console.error(`demo-pipeline: --pipelines takes some of ${ALL.join(',')} (got '${opt.pipelines}')`);
  process.exit(2);
}
if (wanted.includes('stop') && !wanted.includes('mr')) {
  console.error('demo-pipeline: stop needs mr (it stops the review environment of the merge request)');
  process.exit(2);
}
const deadline = Date.now() + Number(opt.timeout) * 1000;

const GCL = join(root, 'node_modules/.bin/gitlab-ci-local');
const REMOTE = 'https://gitlab.example.com/shipline/shipline.git';
const PROJECT_PATH = 'shipline/shipline';
const BASE_IMAGE = 'local/debian:bookworm';
const MR = '42';
const BRANCH = 'feature/greeting';
const RELEASE = 'v1.0.0';
const ID_TOKEN_VARIABLE = 'SHIPLINE_AWS_ID_TOKEN';

const say = (msg) => process.stderr.write(`${msg}\n`);
// SHIPLINE_DEMO_ID names this run's registry repositories (tests set it to check them after)
const id = /^[a-z0-9]{1,12}$/.test(process.env.SHIPLINE_DEMO_ID ?? '')
  ? process.env.SHIPLINE_DEMO_ID
  : randomBytes(3).toString('hex');
const work = mkdtempSync(join(tmpdir(), `shipline-demo-${id}-`));
const dir = join(work, 'seed-a');
const home = join(work, 'home');
mkdirSync(home);

function benchEnv() {
  const out = execFileSync('bash', [join(root, 'scripts/testbed'), 'env'], { encoding: 'utf8' });
  const env = {};
  for (const m of out.matchAll(/^export ([A-Z0-9_]+)='(.*)'$/gm)) env[m[1]] = m[2].replace(/'\\''/g, "'");
  return env;
}
const tb = benchEnv();
const ECR = tb.TB_ECR_REGISTRY;
if (!ECR) throw new Error('the bench is not up: run `bash scripts/testbed up`');
const APP_REPO = `demo/seed-a-${id}/app`;
const TOOLS_REPO = `demo/seed-a-${id}/tools`;
const repos = { app: `${ECR}/${APP_REPO}`, tools: `${ECR}/${TOOLS_REPO}` };
/** The pipelines' commits: the builds label their images with them (cleanup finds them so). */
const shas = [];
/** Every digest the builds pushed, `repo@digest`: deleted at the end (untag leaves them untagged). */
const pushed = new Set();

/** The children running now (a signal stops them before the cleanup). */
const running = new Set();
let stopping = false;
/** Job ids seen in the jobs' output (/tmp/shipline-<job id>): a stopped job may leave its run dir. */
const jobIds = new Set();

/** Runs a command bounded by `limitS` and the demo's deadline; rejects on a non-zero exit. */
function sh(cmd, args, { cwd = root, env = process.env, limitS = 120, onLine, group = false } = {}) {
  const ms = Math.max(1000, Math.min(limitS * 1000, deadline - Date.now()));
  return new Promise((resolvePromise, reject) => {
    // group: its own process group, so that a stop reaches every process of its jobs
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
    const entry = { child, group };
    running.add(entry);
    child.on('exit', () => running.delete(entry));
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!onLine) return;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      lines.forEach(onLine);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (onLine && partial) onLine(partial);
      const r = { code: code ?? 1, signal, stdout, stderr };
      if (code === 0 || onLine) resolvePromise(r);
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code ?? signal}\n${stderr || stdout}`));
    });
  });
}

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada Demo',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Demo',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
};
const git = (...args) =>
  sh('git', ['-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
    cwd: dir,
    env: gitEnv,
  }).then((r) => r.stdout.trim());

// ------------------------------------------------------------------ the bench's AWS
async function post(url, body) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A role of this run at the loopback STS, trusting the bench's OIDC issuer. */
async function makeRole(key) {
  const name = `shipline-demo-${id}-${key}`;
  await post(`${tb.TB_STS_URL}/__control/sts/roles`, {
    name,
    maxSessionDuration: 3600,
    webIdentity: { audiences: ['sts.amazonaws.com'], subjects: ['*'] },
  });
  return `arn:aws:iam::${tb.TB_ECR_ACCOUNT}:role/${name}`;
}

/** The job's GitLab id_token (gitlab-ci-local mints none): from the bench's OIDC issuer. */
async function idToken(ref, refType) {
  const { token } = await post(`${tb.TB_OIDC_URL}/__mint`, {
    flavor: 'gitlab',
    ttlSeconds: 900,
    claims: { project_path: PROJECT_PATH, sub: `project_path:${PROJECT_PATH}:ref_type:${refType}:ref:${ref}` },
  });
  return token;
}

/** The two ECR repositories, as a user creates them before the first push (CreateRepository). */
async function createRepositories() {
  const { CreateRepositoryCommand, ECRClient } = await import('@aws-sdk/client-ecr');
  const client = new ECRClient({
    endpoint: tb.TB_ECR_URL,
    region: tb.TB_AWS_REGION,
    credentials: { accessKeyId: tb.TB_AWS_ACCESS_KEY_ID, secretAccessKey: tb.TB_AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  try {
    for (const repositoryName of [APP_REPO, TOOLS_REPO]) {
      await client.send(new CreateRepositoryCommand({ repositoryName })).catch((e) => {
        if (e.name !== 'RepositoryAlreadyExistsException') throw e;
      });
    }
  } finally {
    client.destroy();
  }
}

// ------------------------------------------------------------------ the registry
const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');
const basic = `Basic ${Buffer.from(`${tb.TB_REGISTRY_BASIC_USER}:${tb.TB_REGISTRY_BASIC_PASSWORD}`).toString('base64')}`;

async function registry(method, repoRef, path, headers = {}) {
  const [host, ...rest] = repoRef.split('/');
  const r = await fetch(`http://${host}/v2/${rest.join('/')}/${path}`, {
    method,
    headers: { Authorization: basic, ...headers },
    signal: AbortSignal.timeout(10_000),
  });
  return r;
}

/** `{ tag: digest }` of a repository at the registry. */
async function registryState(repo) {
  const r = await registry('GET', repo, 'tags/list');
  if (r.status === 404) return {};
  if (!r.ok) throw new Error(`GET ${repo} tags: ${r.status}`);
  const out = {};
  for (const tag of (await r.json()).tags ?? []) {
    const m = await registry('HEAD', repo, `manifests/${tag}`, { Accept: ACCEPT });
    const d = m.headers.get('docker-content-digest');
    if (m.ok && d) out[tag] = d;
  }
  return out;
}

// ------------------------------------------------------------------ the project
/** examples/seed-a as a user copies it; only the include pins move to the pipeline's commit. */
function makeProject() {
  const src = join(root, 'examples/seed-a');
  cpSync(src, dir, {
    recursive: true,
    filter: (p) => !/(^|\/)(__pycache__|\.gitlab-ci-local|dist|\.shipline)(\/|$)/.test(relative(src, p)),
  });
  // components resolve from the project's own templates/ at $CI_COMMIT_SHA (origin is shipline/shipline)
  cpSync(join(root, 'templates'), join(dir, 'templates'), { recursive: true });
  const ci = readFileSync(join(src, '.gitlab-ci.yml'), 'utf8').replace(
    /^(\s*-?\s*component:\s*\S+\/shipline\/[\w-]+)@\S+/gm,
    (_m, head) => `${head}@$CI_COMMIT_SHA`,
  );
  writeFileSync(join(dir, '.gitlab-ci.yml'), ci);
  writeFileSync(join(dir, '.gitignore'), '.gitlab-ci-local/\n');
}

// ------------------------------------------------------------------ one pipeline
const PIPELINES = {
  mr: {
    title: `merge request !${MR}`,
    variables: {
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: MR,
      CI_MERGE_REQUEST_ID: String(100000 + Number(MR)),
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: BRANCH,
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
      CI_MERGE_REQUEST_REF_PATH: `refs/merge-requests/${MR}/head`,
      CI_MERGE_REQUEST_PROJECT_PATH: PROJECT_PATH,
      CI_MERGE_REQUEST_PROJECT_URL: `https://gitlab.example.com/${PROJECT_PATH}`,
      CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: PROJECT_PATH,
      CI_MERGE_REQUEST_TITLE: 'Greet by name',
      CI_MERGE_REQUEST_EVENT_TYPE: 'detached',
      CI_COMMIT_REF_NAME: BRANCH,
    },
    unset: ['CI_COMMIT_BRANCH'],
    token: [BRANCH, 'branch'],
  },
  stop: { title: `stop review/${MR} (manual)`, job: 'stop-review', token: [BRANCH, 'branch'] },
  main: { title: 'default branch (main)', variables: {}, unset: [], token: ['main', 'branch'] },
  tag: {
    title: `release tag ${RELEASE}`,
    variables: {
      CI_COMMIT_TAG: RELEASE,
      CI_COMMIT_REF_NAME: RELEASE,
      CI_COMMIT_REF_SLUG: RELEASE.replace(/[^a-z0-9]/gi, '-').toLowerCase(),
      CI_COMMIT_TAG_MESSAGE: '',
    },
    unset: ['CI_COMMIT_BRANCH'],
    token: [RELEASE, 'tag'],
  },
};
PIPELINES.stop.variables = PIPELINES.mr.variables;
PIPELINES.stop.unset = PIPELINES.mr.unset;

/** The runner's environment: nothing AWS-, CI- or docker-config-related of this shell. */
function runnerEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(AWS_|CI_|CI$|GITLAB_|SHIPLINE_|TB_|DOCKER_CONFIG$)/.test(k)) env[k] = v;
  return { ...env, HOME: home };
}

const clock = (s) => `${s.toFixed(0).padStart(4)} s`;

async function runPipeline(key, role) {
  const p = PIPELINES[key];
  const token = await idToken(...p.token);
  const varsFile = join(work, 'variables.yml');
  writeFileSync(varsFile, `${ID_TOKEN_VARIABLE}: ${JSON.stringify(token)}\n`, { mode: 0o600 });
  const variables = {
    SHIPLINE_HOME: root,
    ECR_REGISTRY: ECR,
    APP_REPOSITORY: APP_REPO,
    TOOLS_REPOSITORY: TOOLS_REPO,
    AWS_ROLE_ARN: role,
    AWS_REGION: tb.TB_AWS_REGION,
    BASE_IMAGE,
    AWS_ENDPOINT_URL_STS: tb.TB_STS_URL,
    AWS_ENDPOINT_URL_ECR: tb.TB_ECR_URL,
    AWS_STS_ENDPOINT: tb.TB_STS_URL,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...p.variables,
  };
  const args = [
    '--no-color',
    '--home',
    join(work, 'gcl-home'),
    '--force-shell-executor',
    // one job at a time: on the host shell every job runs in the same project directory,
    // and two jobs at once would write the same dotenv report (.shipline/outputs.env)
    '--concurrency',
    '1',
    '--variables-file',
    relative(dir, varsFile),
  ];
  for (const [k, v] of Object.entries(variables)) args.push('--variable', `${k}=${v}`);
  for (const name of p.unset) args.push('--unset-variable', name);
  const predefined = Object.keys(variables).filter((k) => k.startsWith('CI_'));
  if (predefined.length) args.push('--ignore-predefined-vars', predefined.join(','));
  if (p.job) args.push(p.job);

  say(`\n== pipeline: ${p.title} (commit ${shas.at(-1)?.slice(0, 8)})`);
  const t0 = Date.now();
  const since = () => (Date.now() - t0) / 1000;
  const jobs = new Map(); // name -> { result, seconds }
  const logFile = join(work, `${key}.log`);
  const r = await sh(GCL, args, {
    cwd: dir,
    env: runnerEnv(),
    limitS: 600,
    group: true,
    onLine: (line) => {
      for (const m of line.matchAll(/\/tmp\/shipline-(\d+)\b/g)) jobIds.add(m[1]);
      // gitlab-ci-local 4.73: "<job> starting shell (stage)", "<job> finished in 12 s", "PASS  <job>"
      let m;
      if ((m = /^(\S+)\s+starting\s.*\((\S+)\)\s*$/.exec(line))) say(`${clock(since())}  ${m[1]} (${m[2]}): started`);
      else if ((m = /^(\S+)\s+finished in (.+?)\s*$/.exec(line))) {
        const j = jobs.get(m[1]) ?? {};
        j.seconds = toSeconds(m[2]);
        jobs.set(m[1], j);
        say(`${clock(since())}  ${m[1]}: finished in ${m[2]}`);
      } else if ((m = /^(\S+)\s+(\$ node .*dist\/([\w-]+)\/index\.js)/.exec(line)))
        say(`${clock(since())}  ${m[1]}:   shipline ${m[3]}`);
      else if ((m = /^\s*(PASS|FAIL|WARN)\s+(\S+)/.exec(line))) {
        const j = jobs.get(m[2]) ?? {};
        j.result = m[1] === 'PASS' ? 'pass' : m[1] === 'WARN' ? 'allowed to fail' : 'FAIL';
        jobs.set(m[2], j);
      }
    },
  });
  writeFileSync(logFile, r.stdout + r.stderr);
  const seconds = since();
  say(`${clock(seconds)}  pipeline ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code}; log: ${logFile})`}`);
  if (r.code !== 0) say(r.stdout.split('\n').slice(-30).join('\n'));
  return { key, title: p.title, code: r.code, seconds, jobs, dotenv: (job) => dotenv(job) };
}

function toSeconds(text) {
  let s = 0;
  for (const m of text.matchAll(/([\d.]+)\s*(ms|s|m|min)\b/g))
    s += Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2].startsWith('m') && m[2] !== 'ms' ? 60 : 1);
  return s;
}

/** A job's dotenv report as gitlab-ci-local keeps it (its last run). */
function dotenv(job) {
  const d = join(dir, '.gitlab-ci-local/artifacts', job, '.gitlab-ci-reports/dotenv');
  const out = {};
  if (!existsSync(d)) return out;
  for (const f of readdirSync(d, { recursive: true, encoding: 'utf8' })) {
    const file = join(d, f);
    if (!statSync(file).isFile()) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return out;
}

// ------------------------------------------------------------------ the table
const short = (d) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : '');

/** Rows of one pipeline: its jobs, their images' tags and digests at the registry right after it. */
async function rowsOf(run, before) {
  const state = { app: await registryState(repos.app), tools: await registryState(repos.tools) };
  const tagsOf = (which, digest) =>
    Object.entries(state[which])
      .filter(([, d]) => d === digest)
      .map(([t]) => t)
      .sort();
  // the build job's `image` output (repo@digest), or its digest output
  const imageDigest = (job, prefix) => {
    const env = dotenv(job);
    return (env[`${prefix}_IMAGE`] ?? '').split('@')[1] ?? env[`${prefix}_DIGEST`] ?? '';
  };
  const rows = [];
  for (const [job, j] of run.jobs) {
    let tags = '';
    let digest = '';
    if (job === 'build-app' || job === 'build-tools') {
      const which = job === 'build-app' ? 'app' : 'tools';
      digest = imageDigest(job, job === 'build-app' ? 'BUILD_APP' : 'BUILD_TOOLS');
      if (digest) pushed.add(`${repos[which]}@${digest}`);
      tags = `${which}: ${tagsOf(which, digest).join(' ') || '(none)'}`;
    } else if (job === 'test') {
      digest = imageDigest('build-app', 'BUILD_APP');
      tags = 'ran app@digest';
    } else if (job.startsWith('deploy')) {
      digest = imageDigest('build-tools', 'BUILD_TOOLS');
      tags = 'ran tools@digest';
    } else if (job === 'stop-review') {
      const gone = ['app', 'tools'].filter((w) => before[w][`MR-${MR}`] && !state[w][`MR-${MR}`]);
      tags = gone.length ? `MR-${MR} removed (${gone.join(', ')})` : `MR-${MR} still there`;
      digest = before.app[`MR-${MR}`] ?? '';
    }
    rows.push({
      pipeline: run.title,
      job,
      result: j.result ?? (run.code === 0 ? 'pass' : '?'),
      tags,
      digest: short(digest),
      seconds: j.seconds,
    });
  }
  return { rows, state };
}

function table(rows) {
  const head = ['pipeline', 'job', 'result', 'tags', 'digest', 'seconds'];
  const cells = rows.map((r) => [
    r.pipeline,
    r.job,
    r.result,
    r.tags,
    r.digest,
    r.seconds === undefined ? '' : r.seconds.toFixed(1),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) =>
    c
      .map((v, i) => (i === 5 ? v.padStart(w[i]) : v.padEnd(w[i])))
      .join('  ')
      .trimEnd();
  let last = '';
  const out = [line(head), line(w.map((n) => '-'.repeat(n)))];
  for (const c of cells) {
    out.push(line([c[0] === last ? '' : c[0], ...c.slice(1)]));
    last = c[0];
  }
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------ cleanup
let cleaning;
const cleanup = () => (cleaning ??= cleanupOnce());
async function cleanupOnce() {
  // what a stopped job could not take back: its containers and its run dir (docker config included)
  for (const jobId of jobIds) {
    const ps = await sh('docker', ['ps', '-aq', '--filter', `name=^shipline-${jobId}-`]).catch(() => ({ stdout: '' }));
    const ids = ps.stdout.split('\n').filter(Boolean);
    if (ids.length) await sh('docker', ['rm', '-f', ...ids], { limitS: 60 }).catch(() => {});
    rmSync(join(tmpdir(), `shipline-${jobId}`), { recursive: true, force: true });
  }
  if (opt.keep) {
    say(`kept: ${repos.app}, ${repos.tools} and ${dir}`);
    return;
  }
  for (const repo of Object.values(repos)) {
    const digests = new Set(Object.values(await registryState(repo).catch(() => ({}))));
    for (const ref of pushed) if (ref.startsWith(`${repo}@`)) digests.add(ref.slice(repo.length + 1));
    for (const d of digests) await registry('DELETE', repo, `manifests/${d}`).catch(() => {});
  }
  // local images: every image of the two repositories, and any the builds labelled with our commits
  const ids = new Set();
  for (const repo of Object.values(repos)) {
    const r = await sh('docker', ['image', 'ls', '-q', '--no-trunc', repo]).catch(() => ({ stdout: '' }));
    r.stdout
      .split('\n')
      .filter(Boolean)
      .forEach((i) => ids.add(i));
  }
  for (const sha of shas) {
    const r = await sh('docker', [
      'image',
      'ls',
      '-q',
      '--no-trunc',
      '--filter',
      `label=org.opencontainers.image.revision=${sha}`,
    ]).catch(() => ({
      stdout: '',
    }));
    r.stdout
      .split('\n')
      .filter(Boolean)
      .forEach((i) => ids.add(i));
  }
  if (ids.size)
    await sh('docker', ['image', 'rm', '--force', ...ids], { limitS: 120 }).catch((e) => say(`cleanup: ${e.message}`));
  rmSync(work, { recursive: true, force: true });
}

// ------------------------------------------------------------------ main
async function main() {
  if (!existsSync(join(root, 'examples/seed-a/.gitlab-ci.yml')))
    throw new Error('examples/seed-a/.gitlab-ci.yml is missing');
  makeProject();
  await git('init', '-q', '-b', 'main');
  await git('remote', 'add', 'origin', REMOTE);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'seed A: app, tools, pipeline');
  await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  await git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');

  const runs = [];
  const rows = [];
  let state = { app: {}, tools: {} };
  for (const key of ALL.filter((k) => wanted.includes(k))) {
    if (key === 'mr') {
      // the merge request: one commit on a branch
      await git('checkout', '-q', '-b', BRANCH);
      writeFileSync(join(dir, 'app/app/__init__.py'), '"""Seed A\'s app: greetings with a name check."""\n');
      await git('commit', '-q', '-am', 'Greet by name');
    } else if (key === 'main') {
      await git('checkout', '-q', 'main');
      if (wanted.includes('mr'))
        await git('merge', '-q', '--no-ff', '-m', `Merge branch '${BRANCH}' into 'main'`, BRANCH);
      await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    } else if (key === 'tag') {
      await git('checkout', '-q', 'main');
      await git('tag', '-a', '-m', `Release ${RELEASE}`, RELEASE);
    }
    shas.push(await git('rev-parse', 'HEAD'));
    const before = state;
    // the loopback STS and ECR keep roles and repositories in memory: made for each pipeline, so
    // a restart of the bench's endpoints between two pipelines (scripts/testbed up after a
    // change of test/endpoints) costs nothing
    const role = await makeRole(key);
    await createRepositories();
    const run = await runPipeline(key, role);
    if (stopping) throw new Error('stopped');
    runs.push(run);
    const got = await rowsOf(run, before);
    rows.push(...got.rows);
    state = got.state;
  }
  const out = table(rows);
  say('');
  process.stdout.write(`${out}\n`);
  const total = runs.reduce((a, r) => a + r.seconds, 0);
  say(
    `\n${runs.length} pipeline(s), ${rows.length} jobs, ${total.toFixed(0)} s; registry ${ECR} (the bench's loopback ECR); commits ${shas.join(' ')}`,
  );
  if (opt.json)
    writeFileSync(
      opt.json,
      JSON.stringify(
        { rows, pipelines: runs.map(({ key, title, code, seconds }) => ({ key, title, code, seconds })) },
        null,
        2,
      ),
    );
  return runs.every((r) => r.code === 0);
}

let rc = 1;
const signalAll = (sig) => {
  for (const { child, group } of running) {
    try {
      if (group) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      /* gone */
    }
  }
};
const onSignal = async (sig) => {
  if (stopping) return;
  stopping = true;
  say(`${sig}: stopping the pipeline, cleaning up`);
  signalAll('SIGINT'); // as Ctrl-C does to every process of the jobs
  for (let i = 0; i < 300 && running.size; i++) await new Promise((r) => setTimeout(r, 100));
  signalAll('SIGKILL');
  await cleanup().catch(() => {});
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// a bug of this script still cleans up
process.on('uncaughtException', (err) => {
  say(`demo-pipeline: ${err.stack || err}`);
  cleanup().finally(() => process.exit(1));
});
try {
  rc = (await main()) ? 0 : 1;
} catch (err) {
  say(`demo-pipeline: ${err.message}`);
} finally {
  await cleanup();
}
process.exit(stopping ? 130 : rc);
