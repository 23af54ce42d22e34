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
  for (const [key, prev] of Object.entries(added.previous)) {
    if (prev === null) delete config.auths[key];
    else config.auths[key] = prev;
  }
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
