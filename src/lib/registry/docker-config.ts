// docker config.json: the one credential file docker, buildah, skopeo, crane and kaniko
// all read. Entries are merged in (never clobbering others), written 0600 atomically, and
// removed again exactly as added (an entry that existed before is restored).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { exec } from '../util/exec';
import { ShiplineError } from '../util/errors';
import type { Env } from '../util/env';

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

export interface Credential {
  username: string;
  password: string;
  /** Where it came from, for error messages (never the value). */
  source: string;
}

export function dockerConfigPath(env: Env): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  return join(dir, 'config.json');
}

export function readDockerConfig(path: string): DockerConfig {
  if (!existsSync(path)) return {};
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as DockerConfig;
  } catch (err) {
    throw new ShiplineError(`docker config ${path} is not valid JSON`, {
      kind: 'invalid',
      hint: 'fix or remove the file',
      cause: err,
      data: { path },
    });
  }
}

export function writeDockerConfig(path: string, config: DockerConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.shipline-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Canonical key: the host[:port] without scheme or path (Docker Hub keeps its legacy key). */
export function registryKey(registry: string): string {
  const host = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io'
    ? 'https://index.docker.io/v1/'
    : host;
}

export interface AddedAuths {
  /** Keys written, and what each held before (null: nothing), to restore exactly. */
  previous: Record<string, AuthEntry | null>;
  /** Whether the file had an `auths` object before (an empty one is kept on restore). */
  hadAuths?: boolean;
}

export function addAuths(
  path: string,
  entries: { registry: string; username: string; password: string }[],
): AddedAuths {
  const config = readDockerConfig(path);
  const hadAuths = config.auths !== undefined;
  config.auths ??= {};
  const previous: AddedAuths['previous'] = {};
  for (const e of entries) {
    const key = registryKey(e.registry);
    if (!(key in previous)) previous[key] = config.auths[key] ?? null;
    config.auths[key] = { auth: Buffer.from(`${e.username}:${e.password}`).toString('base64') };
  }
  writeDockerConfig(path, config);
  return { previous, hadAuths };
}

/** Undoes addAuths; deletes the file if shipline created it and nothing else is left. */
export function restoreAuths(path: string, added: AddedAuths, opts: { createdFile?: boolean } = {}): void {
  if (!existsSync(path)) return;
  const config = readDockerConfig(path);
  config.auths ??= {};
  let changed = false;
  for (const [key, prev] of Object.entries(added.previous)) {
    const now = config.auths[key];
    if (prev === null) {
      if (now !== undefined) {
        changed = true;
        delete config.auths[key];
      }
    } else if (JSON.stringify(now) !== JSON.stringify(prev)) {
      changed = true;
      config.auths[key] = prev;
    }
  }
  // Nothing of ours is there (a cleanup recorded before its writes): leave the file as it is.
  if (!changed) return;
  if (Object.keys(config.auths).length === 0 && added.hadAuths === false) delete config.auths;
  if (opts.createdFile && Object.keys(config).length === 0) rmSync(path, { force: true });
  else writeDockerConfig(path, config);
}

function decodeAuth(auth: string): { username: string; password: string } | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** Finds credentials for a registry: auths (any key form), credHelpers, credsStore. */
export async function credentialsFor(
  config: DockerConfig,
  registry: string,
  configPath: string,
): Promise<Credential | undefined> {
  const key = registryKey(registry);
  const helper = config.credHelpers?.[key] ?? config.credHelpers?.[registry];
  if (helper)
    return fromHelper(helper, key, `credential helper docker-credential-${helper} (credHelpers in ${configPath})`);
  for (const [k, v] of Object.entries(config.auths ?? {})) {
    if (registryKey(k) !== key) continue;
    if (v.username && v.password)
      return { username: v.username, password: v.password, source: `auths["${k}"] in ${configPath}` };
    if (v.identitytoken)
      return { username: '<token>', password: v.identitytoken, source: `auths["${k}"].identitytoken in ${configPath}` };
    const d = v.auth ? decodeAuth(v.auth) : undefined;
    if (d) return { ...d, source: `auths["${k}"] in ${configPath}` };
  }
  if (config.credsStore)
    return fromHelper(
      config.credsStore,
      key,
      `credential store docker-credential-${config.credsStore} (credsStore in ${configPath})`,
    );
  return undefined;
}

async function fromHelper(helper: string, key: string, source: string): Promise<Credential | undefined> {
  const r = await exec(`docker-credential-${helper}`, ['get'], {
    input: key,
    allowFailure: true,
    timeoutMs: 30_000,
    what: `docker-credential-${helper} get`,
  });
  if (r.code !== 0) {
    if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
    throw new ShiplineError(`${source} failed for ${key} (exit ${r.code})`, {
      hint: 'check that the helper is installed and logged in',
      data: { helper, registry: key, exitCode: r.code },
    });
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    // no cause: the parser's message quotes the output, which may hold the secret
    throw new ShiplineError(`${source} answered something that is not JSON for ${key}`, {
      kind: 'invalid',
      data: { helper, registry: key },
    });
  }
  if (!parsed.Secret) return undefined;
  return { username: parsed.Username ?? '', password: parsed.Secret, source };
}

// ------------------------------------------------------------------ private per-job configs
// A job's own docker config directory, so parallel jobs of one runner user never write
// each other's credentials (or remove them on logout): created 0700 under a parent the
// job owns, seeded with a copy of the job's config.json (credHelpers, proxies, the
// current context…) and links to everything else of that directory (cli-plugins, buildx
// state, contexts), which stays shared as before. Nothing is ever written to the source.

export interface PrivateConfig {
  dir: string;
  path: string;
  /** The source config used a `credsStore`: left out of the copy (see seedPrivateConfig). */
  droppedCredsStore?: string;
  /** credHelpers entries left out of the copy (their hosts get plain entries instead). */
  droppedHelpers: string[];
}

/**
 * Creates `<parent>/<prefix>XXXXXX` (0700) with a copy of `sourceDir/config.json` and links
 * to the other entries of `sourceDir`. A `credsStore` is left out of the copy: docker asks
 * the store for every host it names and would ignore the `auths` entries written here.
 * credHelpers entries for `hosts` (registry keys) are left out for the same reason.
 */
export function seedPrivateConfig(parent: string, sourceDir: string, prefix: string, hosts: string[]): PrivateConfig {
  const { mkdtempSync, readdirSync, symlinkSync } = require('node:fs') as typeof import('node:fs');
  const source = readDockerConfig(join(sourceDir, 'config.json'));
  const dir = mkdtempSync(join(parent, prefix));
  chmodSync(dir, 0o700);
  const config: DockerConfig = JSON.parse(JSON.stringify(source)) as DockerConfig;
  const out: PrivateConfig = { dir, path: join(dir, 'config.json'), droppedHelpers: [] };
  if (config.credsStore !== undefined) {
    out.droppedCredsStore = String(config.credsStore);
    delete config.credsStore;
  }
  for (const h of hosts) {
    for (const k of Object.keys(config.credHelpers ?? {})) {
      if (registryKey(k) !== h) continue;
      delete config.credHelpers![k];
      out.droppedHelpers.push(k);
    }
  }
  let names: string[] = [];
  try {
    names = readdirSync(sourceDir);
  } catch {
    names = []; // no source directory: nothing to link
  }
  for (const n of names) if (!n.startsWith('config.json')) symlinkSync(join(sourceDir, n), join(dir, n));
  writeDockerConfig(out.path, config);
  return out;
}

/** sha256 of a file's bytes ('' when it does not exist): did anyone write it since? */
export function fileFingerprint(path: string): string {
  if (!existsSync(path)) return '';
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Deletes `auths[key]` for each key (other entries untouched); returns the keys that were there. */
export function removeAuthKeys(path: string, keys: string[]): string[] {
  if (!existsSync(path)) return [];
  const config = readDockerConfig(path);
  const removed = keys.filter((k) => config.auths?.[k] !== undefined);
  for (const k of removed) delete config.auths![k];
  if (removed.length) writeDockerConfig(path, config);
  return removed;
}
