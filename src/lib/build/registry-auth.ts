// Registry credentials for daemonless builders, from CI variables named by the step: a docker
// config JSON (raw or base64, the seed-004 HARBOR_ROBOT_CREDS_JSON form), a GCP
// service-account key (`_json_key` basic auth for Artifact Registry / GCR), a
// user:password pair, and whatever an earlier step (ecr-login) left in the job's docker
// config. Every value is masked the moment it is read; errors name the variable and the
// form it must have, never its content, and carry `data.problem` for the step to name
// the input that named the variable.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ShiplineError } from '../util/errors';
import type { Env } from '../util/env';
import {
  addAuths,
  credentialsFor,
  readDockerConfig,
  registryKey,
  restoreAuths,
  writeDockerConfig,
  type AddedAuths,
  type DockerConfig,
} from '../registry/docker-config';

export interface RegistryCredential {
  registry: string;
  username: string;
  password: string;
  /** Where it came from, for logs (a variable name or the like, never a value). */
  source: string;
}

/** What goes into the builder's docker config / auth file. */
export interface BuilderAuth {
  credentials: RegistryCredential[];
  /** credHelpers entries passed through from a docker-config variable. */
  credHelpers: Record<string, string>;
}

export const DOCKER_CONFIG_FORM =
  'a docker config JSON, raw or base64-encoded: {"auths":{"registry.example.com":{"auth":"<base64 of user:password>"}}} ' +
  '(entries may use "username"/"password" instead of "auth")';
export const GCP_KEY_FORM =
  'a Google Cloud service-account key JSON (raw or base64-encoded) with "type": "service_account", "client_email" and "private_key"';

/**
 * Why a credentials variable cannot be used, in `data.problem` of the ShiplineError thrown
 * (with `data.variable`, except for 'not-a-name': the value may be a pasted secret, and
 * `data.why`, the message without the variable).
 */
export type VariableProblem = 'not-a-name' | 'not-set' | 'empty' | 'malformed' | 'no-registry';

function variableError(
  problem: VariableProblem,
  variable: string | undefined,
  why: string,
  hint: string,
): ShiplineError {
  return new ShiplineError(variable === undefined ? `the value given ${why}` : `variable ${variable} ${why}`, {
    kind: problem === 'not-set' || problem === 'empty' ? 'not-found' : 'invalid',
    hint,
    data: { problem, why, ...(variable === undefined ? {} : { variable }) },
  });
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Masks a value read from a variable. A multi-line value (a pretty-printed JSON key) is
 * masked line by line, as GitHub does, but without its bare `{` / `}` / `],` lines: masking
 * those would blank every brace in the log while protecting nothing.
 */
export function maskValue(secret: (v: string) => void, value: string): void {
  if (!/[\r\n]/.test(value)) {
    secret(value);
    return;
  }
  for (const line of value.split(/\r?\n/)) {
    const t = line.trim();
    if (t.length >= 8 || /[A-Za-z0-9]{4}/.test(t)) secret(t);
  }
}

/**
 * Reads a CI variable by name. GitLab file-type variables hold a path to the content,
 * so an absolute path to an existing file is read instead.
 */
export function readVariable(env: Env, name: string, form: string, secret: (v: string) => void): string {
  // Not echoed: a user may have pasted the secret itself.
  if (!VAR_NAME.test(name))
    throw variableError(
      'not-a-name',
      undefined,
      "is not a variable name (letters, digits, '_')",
      'give the NAME of the CI variable (e.g. HARBOR_ROBOT_CREDS_JSON), not its value',
    );
  let value = env[name];
  if (value !== undefined) maskValue(secret, value);
  if (
    value !== undefined &&
    value.startsWith('/') &&
    !value.includes('\n') &&
    existsSync(value) &&
    statSync(value).isFile()
  ) {
    value = readFileSync(value, 'utf8');
    maskValue(secret, value);
  }
  if (value === undefined || value.trim() === '') {
    throw variableError(
      value === undefined ? 'not-set' : 'empty',
      name,
      `is ${value === undefined ? 'not set' : 'empty'}`,
      `set ${name} to ${form} as a masked CI/CD variable (GitLab) or map the secret into the step's env (GitHub: env: ${name}: \${{ secrets.${name} }})`,
    );
  }
  return value;
}

/** Raw JSON, or base64 of it; returns the JSON text (masked) or undefined if neither. */
function decodeJsonText(value: string, secret: (v: string) => void): string | undefined {
  const t = value.trim();
  if (t.startsWith('{')) return t;
  const compact = t.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(compact)) return undefined;
  const decoded = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8').trim();
  if (!decoded.startsWith('{')) return undefined;
  maskValue(secret, decoded);
  return decoded;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    // The parser's message quotes the text: never surface it.
    return undefined;
  }
}

function malformed(name: string, why: string, form: string): ShiplineError {
  return variableError('malformed', name, why, `set ${name} to ${form}`);
}

/** Parses a docker config JSON held in a variable into plain credentials. */
export function dockerConfigFromVariable(env: Env, name: string, secret: (v: string) => void): BuilderAuth {
  const value = readVariable(env, name, DOCKER_CONFIG_FORM, secret);
  const text = decodeJsonText(value, secret);
  const obj = text === undefined ? undefined : parseObject(text);
  if (!obj) throw malformed(name, 'is neither JSON nor base64-encoded JSON', DOCKER_CONFIG_FORM);
  const auths = obj.auths;
  const helpers = obj.credHelpers;
  if (
    (auths === undefined || auths === null || typeof auths !== 'object') &&
    (helpers === undefined || typeof helpers !== 'object')
  ) {
    throw malformed(name, 'has no "auths" object', DOCKER_CONFIG_FORM);
  }
  const credentials: RegistryCredential[] = [];
  for (const [registry, entry] of Object.entries((auths ?? {}) as Record<string, unknown>)) {
    const e = (entry ?? {}) as Record<string, unknown>;
    let username: string | undefined;
    let password: string | undefined;
    if (typeof e.username === 'string' && typeof e.password === 'string' && e.password !== '') {
      username = e.username;
      password = e.password;
    } else if (typeof e.auth === 'string' && e.auth !== '') {
      secret(e.auth);
      const plain = Buffer.from(e.auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) {
        username = plain.slice(0, i);
        password = plain.slice(i + 1);
      }
    }
    if (username === undefined || password === undefined || password === '') {
      // The registry host is not secret; the entry is.
      throw malformed(
        name,
        `has an entry for "${registry}" without a usable "auth" (base64 of user:password) or "username"/"password"`,
        DOCKER_CONFIG_FORM,
      );
    }
    secret(password);
    credentials.push({ registry, username, password, source: `variable ${name}` });
  }
  const credHelpers: Record<string, string> = {};
  for (const [registry, helper] of Object.entries((helpers ?? {}) as Record<string, unknown>)) {
    if (typeof helper !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(helper))
      throw malformed(name, `has a credHelpers entry for "${registry}" that is not a helper name`, DOCKER_CONFIG_FORM);
    credHelpers[registry] = helper;
  }
  if (credentials.length === 0 && Object.keys(credHelpers).length === 0)
    throw malformed(name, 'has no registry entries', DOCKER_CONFIG_FORM);
  return { credentials, credHelpers };
}

/** Registries a GCP key applies to by default: the Artifact Registry / GCR hosts among the images. */
export function isGoogleRegistry(host: string): boolean {
  return /(^|\.)gcr\.io$/.test(host) || /-docker\.pkg\.dev$/.test(host);
}

/** A GCP service-account key as `_json_key` basic auth for each registry. */
export function gcpKeyCredentials(
  env: Env,
  name: string,
  registries: string[],
  secret: (v: string) => void,
): RegistryCredential[] {
  const value = readVariable(env, name, GCP_KEY_FORM, secret);
  const text = decodeJsonText(value, secret);
  const key = text === undefined ? undefined : parseObject(text);
  if (!key) throw malformed(name, 'is neither JSON nor base64-encoded JSON', GCP_KEY_FORM);
  if (typeof key.private_key === 'string') maskValue(secret, key.private_key);
  if (key.type !== 'service_account' || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw malformed(
      name,
      'is not a service-account key (needs "type": "service_account", "client_email", "private_key")',
      GCP_KEY_FORM,
    );
  }
  if (registries.length === 0) {
    throw variableError(
      'no-registry',
      name,
      'holds a key but no Google registry is known to use it for',
      'push to a gcr.io or <region>-docker.pkg.dev image, or name the registries',
    );
  }
  return registries.map((registry) => ({
    registry,
    username: '_json_key',
    password: text!,
    source: `variable ${name}`,
  }));
}

/**
 * Credentials for `registries` found in the job's existing docker config (what ecr-login
 * or a docker login left there, credential helpers included). Registries without any are
 * skipped; a failing helper only warns, since the builder may have its own.
 */
export async function existingConfigCredentials(
  configPath: string,
  registries: string[],
  secret: (v: string) => void,
  warn: (msg: string) => void,
): Promise<RegistryCredential[]> {
  if (!existsSync(configPath)) return [];
  let config: DockerConfig;
  try {
    config = readDockerConfig(configPath);
  } catch (err) {
    warn(err instanceof Error ? err.message : String(err));
    return [];
  }
  const out: RegistryCredential[] = [];
  for (const registry of registries) {
    try {
      const c = await credentialsFor(config, registry, configPath);
      if (!c || !c.password) continue;
      secret(c.password);
      out.push({ registry, username: c.username, password: c.password, source: c.source });
    } catch (err) {
      warn(`no credentials for ${registry} from ${configPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** Later sources win per registry (explicit inputs over variables over the existing config). */
export function mergeCredentials(...lists: RegistryCredential[][]): RegistryCredential[] {
  const byKey = new Map<string, RegistryCredential>();
  for (const list of lists) for (const c of list) byKey.set(registryKey(c.registry), c);
  return [...byKey.values()];
}

/** What installAuth changed, serialisable into step state so post can undo it. */
export interface InstalledAuth {
  path: string;
  createdFile: boolean;
  added: AddedAuths;
  /** credHelpers keys set or removed, and what each held before (null: nothing). */
  helpers: Record<string, string | null>;
  /** Whether the file had a credHelpers object before. */
  hadHelpers: boolean;
  /** A credsStore taken out while the step's entries are in place, to put back. */
  credsStore?: string;
}

/**
 * Merges the credentials into a docker config file (0600), recording how to undo it.
 * In docker's lookup (kaniko, crane, docker) a credHelpers entry or a credsStore wins over
 * `auths`, and the kaniko images ship both (gcr.io helpers, credsStore ecr-login): for the
 * registries the step has credentials for, a helper entry is set aside; a credsStore is
 * kept only as explicit helpers for the other `involved` registries.
 */
export function installAuth(path: string, auth: BuilderAuth, involved: string[] = []): InstalledAuth {
  const createdFile = !existsSync(path);
  const added = addAuths(
    path,
    auth.credentials.map((c) => ({ registry: c.registry, username: c.username, password: c.password })),
  );
  const config = readDockerConfig(path);
  const hadHelpers = config.credHelpers !== undefined;
  const helperMap: Record<string, string> = (config.credHelpers ??= {});
  const helpers: Record<string, string | null> = {};
  const set = (registry: string, helper: string | null) => {
    if (!(registry in helpers)) helpers[registry] = helperMap[registry] ?? null;
    if (helper === null) delete helperMap[registry];
    else helperMap[registry] = helper;
  };
  for (const [registry, helper] of Object.entries(auth.credHelpers)) set(registry, helper);
  const ours = new Set(auth.credentials.map((c) => registryKey(c.registry)));
  let credsStore: string | undefined;
  if (ours.size) {
    for (const key of Object.keys(helperMap))
      if (ours.has(registryKey(key)) && !(key in auth.credHelpers)) set(key, null);
    if (config.credsStore) {
      credsStore = config.credsStore;
      for (const registry of involved) {
        const key = registryKey(registry);
        if (!ours.has(key) && !helperMap[key]) set(key, credsStore);
      }
      delete config.credsStore;
    }
  }
  if (!hadHelpers && Object.keys(helperMap).length === 0) delete config.credHelpers;
  if (Object.keys(helpers).length || credsStore) writeDockerConfig(path, config);
  return { path, createdFile, added, helpers, hadHelpers, ...(credsStore ? { credsStore } : {}) };
}

/** Undoes installAuth exactly; removes the file when installAuth created it and nothing else is in it. False: no file. */
export function uninstallAuth(rec: InstalledAuth): boolean {
  if (!existsSync(rec.path)) return false;
  if (Object.keys(rec.helpers).length || rec.credsStore) {
    const config = readDockerConfig(rec.path);
    const helperMap: Record<string, string> = (config.credHelpers ??= {});
    for (const [registry, prev] of Object.entries(rec.helpers)) {
      if (prev === null) delete helperMap[registry];
      else helperMap[registry] = prev;
    }
    if (!rec.hadHelpers && Object.keys(helperMap).length === 0) delete config.credHelpers;
    if (rec.credsStore) config.credsStore = rec.credsStore;
    writeDockerConfig(rec.path, config);
  }
  restoreAuths(rec.path, rec.added, { createdFile: rec.createdFile });
  return true;
}
