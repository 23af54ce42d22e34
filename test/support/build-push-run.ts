// Helpers for build-push tests: run the bundle as a GitLab job runs it (inputs as
// SHIPLINE_INPUT_* variables, GitLab CI_* context), read its outputs, ask skopeo what the
// registry holds, and list this test's own images/containers on the shared engine.
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, withEnv, type RunResult } from './exec';

export const BUNDLE = path.join(repoRoot, 'dist', 'build-push', 'index.js');
export const EXAMPLE_APP = path.join(repoRoot, 'examples', 'app');
export const SHA = '4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d';

export const uniq = (prefix = 'bp'): string => `${prefix}-${crypto.randomBytes(4).toString('hex')}`;

export const MR_VARS = {
  CI_MERGE_REQUEST_IID: '7',
  CI_PIPELINE_SOURCE: 'merge_request_event',
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/x',
};
export const MAIN_VARS = { CI_COMMIT_BRANCH: 'main', CI_PIPELINE_SOURCE: 'push' };

/** Outputs printed as `name=value` or `name<<SHIPLINE_EOF` blocks. */
export function parseOutputs(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([a-z-]+)(?:=(.*)|<<SHIPLINE_EOF\n([\s\S]*?)\nSHIPLINE_EOF)$/gm;
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

export interface StepRun extends RunResult {
  outputs: Record<string, string>;
  workspace: string;
}

/** Runs dist/build-push as a GitLab job: CI vars + SHIPLINE_INPUT_<NAME> inputs, workspace = CI_PROJECT_DIR. */
export async function runBuildPush(opts: {
  workspace: string;
  inputs: Record<string, string>;
  ci?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  post?: boolean;
}): Promise<StepRun> {
  const vars: Record<string, string | undefined> = {
    GITLAB_CI: 'true',
    CI_PROJECT_DIR: opts.workspace,
    CI_COMMIT_SHA: SHA,
    CI_DEFAULT_BRANCH: 'main',
    CI_JOB_ID: '4242',
    GITHUB_ACTIONS: undefined,
    CI_REGISTRY_IMAGE: undefined,
    ...(opts.ci ?? MAIN_VARS),
  };
  for (const [k, v] of Object.entries(opts.inputs))
    vars[`SHIPLINE_INPUT_${k.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`] = v;
  const r = await run(process.execPath, [BUNDLE, ...(opts.post ? ['--post'] : [])], {
    cwd: opts.workspace,
    env: withEnv(vars, opts.env ?? process.env),
    timeoutMs: 300_000,
  });
  return { ...r, outputs: parseOutputs(r.stdout), workspace: opts.workspace };
}

/** A fresh workspace holding a copy of a directory (default the example app). */
export function workspaceFrom(dir: string = EXAMPLE_APP): string {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-ws-'));
  fs.cpSync(dir, ws, { recursive: true });
  return ws;
}

export function docker(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The manifest digest the registry reports for a reference (skopeo, no TLS on loopback). */
export function skopeoDigest(ref: string, authfile?: string): string | undefined {
  const r = spawnSync(
    'skopeo',
    [
      'inspect',
      '--tls-verify=false',
      ...(authfile ? ['--authfile', authfile] : []),
      '--format',
      '{{.Digest}}',
      `docker://${ref}`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Images (any tag) and containers carrying a label, as lines, for before/after comparisons. */
export function labelled(label: string): { images: string[]; containers: string[] } {
  const images = docker('images', '--all', '--filter', `label=${label}`, '--format', '{{.ID}} {{.Repository}}:{{.Tag}}')
    .stdout.split('\n')
    .filter(Boolean);
  const containers = docker('ps', '--all', '--filter', `label=${label}`, '--format', '{{.ID}} {{.Names}}')
    .stdout.split('\n')
    .filter(Boolean);
  return { images, containers };
}

/** This step's temporary names on the engine (it names them shipline-build-push-<hex>). */
export function stepTemporaries(): string[] {
  const images = docker('images', '--filter', 'reference=shipline-build-push-*', '--format', '{{.Repository}}:{{.Tag}}')
    .stdout.split('\n')
    .filter(Boolean);
  const containers = docker('ps', '--all', '--filter', 'name=shipline-build-push-', '--format', '{{.Names}}')
    .stdout.split('\n')
    .filter(Boolean);
  return [...images, ...containers].sort();
}

/** Removes every local tag of a repository (test cleanup). */
export function removeRepoImages(repo: string): void {
  const refs = docker('images', repo, '--format', '{{.Repository}}:{{.Tag}}')
    .stdout.split('\n')
    .filter((l) => l && !l.endsWith(':<none>'));
  if (refs.length) docker('image', 'rm', '--force', ...refs);
}

/**
 * A gitlab-ci-local job's dotenv report, read recursively: the report keeps the file's
 * path (`.gitlab-ci-reports/dotenv/.shipline/outputs.env`), which GitlabRunResult.dotenv
 * (top-level files only) does not descend into.
 */
export function gitlabDotenv(projectDir: string, job: string): Record<string, string> | undefined {
  const root = path.join(projectDir, '.gitlab-ci-local', 'artifacts', job, '.gitlab-ci-reports', 'dotenv');
  if (!fs.existsSync(root)) return undefined;
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else
        for (const line of fs.readFileSync(p, 'utf8').split('\n')) {
          const i = line.indexOf('=');
          if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
        }
    }
  };
  walk(root);
  return out;
}
