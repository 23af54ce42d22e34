// The shipline job image built from this checkout (Dockerfile at the root, by scripts/job-image
// FROM the mmdebstrap Debian base) and gitlab-ci-local's helper image FROM the same base, built
// at most once per content: the job image's tag is a hash of what goes into it (Dockerfile,
// .dockerignore, dist/, the version, the commit its labels name, the base and node images'
// ids), the helper's the base image's id. A second test file, or a second run on the same
// commit and dist/, finds the tags and reuses them; both stay cached by content (they name no
// run). A build failure throws: tests that need the image fail, locally and under CI=true.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, run } from './exec';

export const JOB_IMAGE_REPO = 'local/shipline-job';
export const HELPER_IMAGE_REPO = 'local/gcl-helper';
const SCRIPT = path.join(repoRoot, 'scripts', 'job-image');

export interface JobImages {
  /** The job image (SHIPLINE_HOME=/opt/shipline holding this checkout's dist/). */
  jobImage: string;
  /** gitlab-ci-local's --helper-image. */
  helperImage: string;
  /** Whether this call built them (false: reused by content tag). */
  built: { jobImage: boolean; helperImage: boolean };
  /** Time spent in this call (ms). */
  ms: number;
}

async function jobImageScript(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const r = await run('bash', [SCRIPT, ...args], { env, timeoutMs });
  if (r.code !== 0)
    throw new Error(
      `scripts/job-image ${args.join(' ')} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr.slice(-4000)}`,
    );
  return r.stdout;
}

async function imageId(ref: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const r = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { env, timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

function hashTree(h: crypto.Hash, root: string, rel = ''): void {
  const dir = path.join(root, rel);
  for (const name of fs.readdirSync(dir).sort()) {
    const r = path.posix.join(rel, name);
    const st = fs.lstatSync(path.join(root, r));
    if (st.isDirectory()) hashTree(h, root, r);
    else {
      h.update(`${r}\0${st.mode & 0o111 ? 'x' : '-'}\0`);
      h.update(st.isSymbolicLink() ? fs.readlinkSync(path.join(root, r)) : fs.readFileSync(path.join(root, r)));
      h.update('\0');
    }
  }
}

/** The content key of the job image: what its build reads, and the ids of the images it starts from. */
export async function jobImageKey(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const h = crypto.createHash('sha256');
  for (const f of ['Dockerfile', '.dockerignore', 'package.json'])
    h.update(`${f}\0`)
      .update(fs.readFileSync(path.join(repoRoot, f)))
      .update('\0');
  hashTree(h, path.join(repoRoot, 'dist'), '');
  // The revision and created labels come from git.
  const head = await run('git', ['log', '-1', '--format=%H %cI'], { cwd: repoRoot, timeoutMs: 30_000 });
  h.update(`head\0${head.code === 0 ? head.stdout.trim() : ''}\0`);
  for (const ref of [env.JOB_IMAGE_BASE ?? 'local/debian:bookworm', env.JOB_IMAGE_NODE ?? 'local/node:24'])
    h.update(`${ref}\0${(await imageId(ref, env)) ?? 'missing'}\0`);
  return h.digest('hex').slice(0, 16);
}

let pending: Promise<JobImages> | undefined;

/**
 * Build (or reuse) the job image and the helper image on the engine DOCKER_HOST names. One
 * promise per test file; across files and runs the content tags do the sharing.
 */
export function ensureJobImages(env: NodeJS.ProcessEnv = process.env): Promise<JobImages> {
  pending ??= (async () => {
    const started = Date.now();
    if (!fs.existsSync(path.join(repoRoot, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: npm run build');
    // The base and node images first (each skipped when present): their ids key both tags.
    await jobImageScript(['base'], env, 1_200_000);
    await jobImageScript(['node'], env, 600_000);
    const baseId = await imageId(env.JOB_IMAGE_BASE ?? 'local/debian:bookworm', env);
    if (!baseId) throw new Error('scripts/job-image base left no base image');
    const helperImage = `${HELPER_IMAGE_REPO}:${baseId.replace(/^sha256:/, '').slice(0, 16)}`;
    const jobImage = `${JOB_IMAGE_REPO}:${await jobImageKey(env)}`;
    const built = { jobImage: false, helperImage: false };
    if (!(await imageId(helperImage, env))) {
      await jobImageScript(['helper', helperImage], env, 900_000);
      built.helperImage = true;
    }
    if (!(await imageId(jobImage, env))) {
      await jobImageScript(['build', jobImage], env, 1_800_000);
      built.jobImage = true;
    }
    return { jobImage, helperImage, built, ms: Date.now() - started };
  })();
  return pending;
}
