// registry-login's inputs as one list of logins before anything is written or sent: the
// single `registry`/`username`/`password`, the `registries` lines (variable names, never
// values), docker/login-action's `registry-auth`, and the GHCR / GitLab registry defaults.
// Every problem is an InputError (exit 2) naming the input; no value of a secret is shown.
import { parseEcrHost } from '../../lib/registry/ecr-host';
import { registryKey } from '../../lib/registry/docker-config';
import { dockerConfigFromVariable } from '../../lib/build/registry-auth';
import { ofKind } from '../../lib/util/errors';
import type { Env } from '../../lib/util/env';
import { InputError, isInputError } from '../../runtime/inputs';
import type { Inputs } from './index';

export interface Login {
  /** host[:port] the registry is reached at ('docker.io' for Docker Hub). */
  host: string;
  /** The docker config key (`https://index.docker.io/v1/` for Docker Hub). */
  key: string;
  username: string;
  password: string;
  /** Where the credentials came from, for messages (never a value). */
  source: string;
  /** The input a problem with this login is blamed on. */
  input: string;
}

export interface LoginPlan {
  logins: Login[];
  logout: boolean;
}

const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
const VAR_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** The shortest secret the runners (and shipline's redaction) mask. */
export const MIN_PASSWORD = 4;
const MAX_USERNAME = 255;
const ECR_HINT =
  'ECR passwords come from the ECR API: run assume-role, then the ecr-login step (it writes the same docker config entries); or pass a token from `aws ecr get-login-password` with username AWS';

/** `https://index.docker.io/v1/` → `docker.io`, `host:5000/path` → `host:5000`; undefined when not a host. */
export function normalizeHost(raw: string): string | undefined {
  const host = raw
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '');
  if (!HOST_RE.test(host)) return undefined;
  return DOCKER_HUB.has(host.toLowerCase()) ? 'docker.io' : host;
}

export function isEcrHost(host: string): boolean {
  const h = host.toLowerCase();
  return parseEcrHost(h) !== undefined || h === 'public.ecr.aws' || h === 'ecr-public.aws.com';
}

const onGithub = (env: Env) => env.GITHUB_ACTIONS === 'true';
/** GitLab's own registry of the project (CI_REGISTRY; also under gitlab-ci-local, which sets GITLAB_CI=false). */
const gitlabRegistry = (env: Env) => (env.CI_REGISTRY ? normalizeHost(env.CI_REGISTRY) : undefined);

/** The login of one host, with the platform defaults for whatever is missing. */
function complete(
  input: string,
  host: string,
  given: { username?: string | undefined; password?: string | undefined; source: string },
  i: Inputs,
  env: Env,
): Login {
  let { username, password } = given;
  // Lines of a list input carry their own credentials: a problem is that input's.
  const listed = input === 'registries' || input === 'auth-config-variable';
  let source = given.source;
  const lower = host.toLowerCase();
  if (lower === 'ghcr.io' && onGithub(env)) {
    if (!username && env.GITHUB_ACTOR) {
      username = env.GITHUB_ACTOR;
      source += ', user GITHUB_ACTOR';
    }
    if (!password && i.githubToken) {
      password = i.githubToken;
      source += ', password github-token';
    }
  } else if (gitlabRegistry(env)?.toLowerCase() === lower) {
    if (!username && !password) {
      if (env.CI_REGISTRY_USER && env.CI_REGISTRY_PASSWORD) {
        username = env.CI_REGISTRY_USER;
        password = env.CI_REGISTRY_PASSWORD;
        source = 'CI_REGISTRY_USER / CI_REGISTRY_PASSWORD';
      } else if (env.CI_JOB_TOKEN) {
        username = 'gitlab-ci-token';
        password = env.CI_JOB_TOKEN;
        source = 'gitlab-ci-token / CI_JOB_TOKEN';
      }
    }
  }
  if (!username && !password)
    throw new InputError(
      input,
      `no username and password for ${host}`,
      input === 'registries'
        ? 'write the line as `<host> <USERNAME_VARIABLE> <PASSWORD_VARIABLE>`'
        : 'give username and password (on GitHub: password: ${{ secrets.REGISTRY_TOKEN }})',
    );
  const give = listed ? 'set the variables the line names' : 'give username and password together';
  username = username?.trim();
  if (!username) throw new InputError(listed ? input : 'username', `is required for ${host} (${source})`, give);
  if (!password) throw new InputError(listed ? input : 'password', `is required for ${host} (${source})`, give);
  // docker login --password-stdin drops the line end a secret file or `echo` adds.
  password = password.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(username) || username.includes(':'))
    throw new InputError(
      listed ? input : 'username',
      `the user name for ${host} (${source}) holds a colon or a line break, which basic auth cannot carry`,
      'give the account name alone (a robot account like robot$ci is fine); the password goes in password',
    );
  // A registry answers a huge Authorization header with 431: say so before asking it.
  if (username.length > MAX_USERNAME)
    throw new InputError(
      listed ? input : 'username',
      `the user name for ${host} (${source}) is ${username.length} characters long; registries take at most ${MAX_USERNAME}`,
      'give the account name, not a token or a file’s content',
    );
  if (password.trim().length < MIN_PASSWORD)
    throw new InputError(
      listed ? input : 'password',
      `the password for ${host} (${source}) is shorter than ${MIN_PASSWORD} characters: it could not be masked in logs`,
      'use the registry’s access token, not a short password',
    );
  if (i.ecr === 'true')
    throw new InputError('ecr', 'true is not supported: this step does not call the ECR API', ECR_HINT);
  if (i.ecr === 'auto' && isEcrHost(host) && username !== 'AWS')
    throw new InputError(
      listed ? input : 'registry',
      `${host} is an Amazon ECR registry and the user name is not AWS`,
      `${ECR_HINT} (or set ecr: false to log in with these credentials as they are)`,
    );
  return { host, key: registryKey(host), username, password, source, input };
}

function hostOf(input: string, raw: string): string {
  const host = normalizeHost(raw);
  if (!host)
    throw new InputError(
      input,
      `'${raw.slice(0, 100)}' is not a registry host`,
      'give host[:port], e.g. ghcr.io or registry.example.com:5000',
    );
  return host;
}

/** One `registries` line: `<host> [<USERNAME_VARIABLE> <PASSWORD_VARIABLE>]`. */
function fromLine(line: string, n: number, i: Inputs, env: Env): Login {
  const fields = line.trim().split(/\s+/);
  const where = `line ${n}`;
  if (fields.length === 2 || fields.length > 3)
    throw new InputError(
      'registries',
      `${where} has ${fields.length} fields`,
      'write `<host> <USERNAME_VARIABLE> <PASSWORD_VARIABLE>` (variable names, not values), or a bare host for ghcr.io / the GitLab registry',
    );
  const host = hostOf('registries', fields[0]!);
  if (fields.length === 1) return complete('registries', host, { source: `registries ${where}` }, i, env);
  const [, userVar, passVar] = fields as [string, string, string];
  for (const v of [userVar, passVar]) {
    if (!VAR_RE.test(v))
      throw new InputError(
        'registries',
        `${where}: '${v.startsWith('$') ? v : '…'}' is not a variable name`,
        v.startsWith('$')
          ? 'write the name without `$` (GitLab would put the value itself into the input)'
          : 'name the job variables that hold the user name and the password (letters, digits, _)',
      );
    if (!env[v])
      throw new InputError(
        'registries',
        `${where}: variable ${v} is not set (or empty) in the job`,
        'on GitHub set it in the step’s `env:` (from `secrets.`); on GitLab define it as a CI/CD variable (masked)',
      );
  }
  return complete(
    'registries',
    host,
    { username: env[userVar], password: env[passVar], source: `variables ${userVar} / ${passVar}` },
    i,
    env,
  );
}

type AuthItem = { registry?: string; username?: string; password?: string; ecr?: string; scope?: string };
const AUTH_KEYS = new Set(['registry', 'username', 'password', 'ecr', 'scope']);

/** A YAML scalar as the flat list form holds it: quoted, or plain up to a ` #` comment. */
function scalar(text: string, n: number): string {
  const t = text.trim();
  if (t.startsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      throw new InputError('registry-auth', `line ${n}: a double-quoted value is not closed or has a bad escape`);
    }
  }
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2)
      throw new InputError('registry-auth', `line ${n}: a single-quoted value is not closed`);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  return t.replace(/\s+#.*$/, '');
}

/**
 * docker/login-action's `registry-auth`: a YAML list of flat maps (`- registry: …` then
 * indented `key: value` lines) or the same as JSON. Only that form: anything else is
 * refused with its line number, never its text (the value holds passwords).
 */
export function parseRegistryAuth(text: string): AuthItem[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      throw new InputError('registry-auth', 'starts with [ but is not valid JSON', 'give a JSON array or a YAML list');
    }
    if (!Array.isArray(parsed)) throw new InputError('registry-auth', 'is not a list');
    return parsed.map((item, k) => {
      if (!item || typeof item !== 'object' || Array.isArray(item))
        throw new InputError('registry-auth', `item ${k + 1} is not an object`);
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(item as Record<string, unknown>)) {
        if (!AUTH_KEYS.has(key))
          throw new InputError('registry-auth', `item ${k + 1}: unknown key '${key.slice(0, 40)}'`, keysHint);
        if (typeof v !== 'string') throw new InputError('registry-auth', `item ${k + 1}: ${key} is not a string`);
        out[key] = v;
      }
      return out as AuthItem;
    });
  }
  const items: Record<string, string>[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 1; n <= lines.length; n++) {
    const raw = lines[n - 1]!;
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    let body = raw;
    const dash = /^\s*-\s+/.exec(raw);
    if (dash) {
      items.push({});
      body = raw.slice(dash[0].length);
    } else if (!/^\s+\S/.test(raw) || items.length === 0) {
      throw new InputError(
        'registry-auth',
        `line ${n} is neither a list item (- key: value) nor an indented key: value`,
        'give a YAML list, e.g. "- registry: ghcr.io" then "  username: …" and "  password: …"',
      );
    }
    const m = /^\s*([A-Za-z-]+):(?:\s+(.*))?$/.exec(body);
    if (!m) throw new InputError('registry-auth', `line ${n} is not key: value`);
    const key = m[1]!;
    if (!AUTH_KEYS.has(key)) throw new InputError('registry-auth', `line ${n}: unknown key '${key}'`, keysHint);
    const item = items[items.length - 1]!;
    if (key in item) throw new InputError('registry-auth', `line ${n}: ${key} given twice in one item`);
    item[key] = scalar(m[2] ?? '', n);
  }
  return items as AuthItem[];
}
const keysHint = 'each item takes registry, username, password (ecr and scope as docker/login-action)';

const REGISTRY_AUTH_FORM =
  'give a YAML list of `- registry: …` / `username: …` / `password: …` maps (docker/login-action’s registry-auth), or a JSON array of such objects';

/** registry-auth's own errors, each with the form to write. */
function withAuthHint<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isInputError(err) || err.hint) throw err;
    const prefix = `input '${err.input}': `;
    throw new InputError(err.input, err.message.replace(prefix, ''), REGISTRY_AUTH_FORM);
  }
}

/** The `auths` of the docker config JSON in the variable `auth-config-variable` names. */
function fromConfigVariable(i: Inputs, env: Env, secret: (v: string) => void): Login[] {
  const name = i.authConfigVariable!;
  let auth;
  try {
    auth = dockerConfigFromVariable(env, name, secret);
  } catch (err) {
    const e = ofKind(err, 'not-found', 'invalid');
    if (!e || typeof e.data.why !== 'string') throw err;
    throw new InputError('auth-config-variable', `variable ${name} ${e.data.why}`, e.hint);
  }
  if (Object.keys(auth.credHelpers).length)
    throw new InputError(
      'auth-config-variable',
      `variable ${name} has credHelpers (${Object.keys(auth.credHelpers).join(', ')}), which registry-login cannot check or write`,
      'give those registries as auths entries, or log in to ECR with the ecr-login step',
    );
  return auth.credentials.map((c) =>
    complete(
      'auth-config-variable',
      hostOf('auth-config-variable', c.registry),
      { username: c.username, password: c.password, source: `variable ${name}` },
      i,
      env,
    ),
  );
}

export function planLogin(i: Inputs, env: Env, secret: (v: string) => void = () => {}): LoginPlan {
  if (i.scope)
    throw new InputError(
      'scope',
      'is not supported: it scopes credentials to buildx only, shipline writes the one docker config every tool reads',
      'remove scope; the private per-job DOCKER_CONFIG already keeps these credentials out of other jobs',
    );
  const logins: Login[] = [];
  const auth = i.registryAuth?.trim() ? i.registryAuth : undefined;
  if (auth !== undefined) {
    const others = (['registry', 'username', 'password', 'scope'] as const).filter((k) => i[k]);
    if (others.length || i.ecr !== 'auto')
      throw new InputError(
        'registry-auth',
        `cannot be used with ${[...others, ...(i.ecr !== 'auto' ? ['ecr'] : [])].join(', ')}`,
        'put every registry into registry-auth, or use registry/username/password and registries',
      );
    const items = withAuthHint(() => parseRegistryAuth(auth));
    if (!items.length) throw new InputError('registry-auth', 'holds no registry', REGISTRY_AUTH_FORM);
    items.forEach((item, k) => {
      if (item.scope) throw new InputError('registry-auth', `item ${k + 1}: scope is not supported (buildx only)`);
      if (item.ecr !== undefined && !['auto', 'true', 'false'].includes(item.ecr))
        throw new InputError('registry-auth', `item ${k + 1}: ecr must be auto, true or false`);
      const host = hostOf('registry-auth', item.registry || 'docker.io');
      logins.push(
        complete(
          'registry-auth',
          host,
          { username: item.username, password: item.password, source: `registry-auth item ${k + 1}` },
          { ...i, ecr: (item.ecr as Inputs['ecr'] | undefined) ?? 'auto' },
          env,
        ),
      );
    });
  }
  if (i.authConfigVariable) {
    if (auth !== undefined)
      throw new InputError(
        'auth-config-variable',
        'cannot be used with registry-auth',
        'give the registries in one of them',
      );
    logins.push(...fromConfigVariable(i, env, secret));
  }
  const single =
    i.registry ||
    i.username ||
    i.password ||
    (auth === undefined && !i.authConfigVariable && i.registries.length === 0);
  if (auth === undefined && single) {
    const host = i.registry ? hostOf('registry', i.registry) : (gitlabRegistry(env) ?? 'docker.io');
    logins.push(
      complete(
        'registry',
        host,
        { username: i.username, password: i.password, source: 'inputs username / password' },
        i,
        env,
      ),
    );
  }
  i.registries.forEach((line, k) => logins.push(fromLine(line, k + 1, i, env)));
  const seen = new Map<string, Login>();
  for (const l of logins) {
    const prev = seen.get(l.key.toLowerCase());
    if (prev)
      throw new InputError(
        l.input,
        `${l.host} is logged in to twice (${prev.source}; ${l.source})`,
        'give each registry once',
      );
    seen.set(l.key.toLowerCase(), l);
  }
  return { logins, logout: i.logout };
}
