// Pure input handling for vault-secrets: the Vault address and AppRole ids (inputs, else
// the job's VAULT_* variables), and what to read: `V_NAME=<mount>/<path>/<key>` variables
// (seed 000's convention) or explicit `<mount>/<path> <key> | NAME` lines, grouped so each
// distinct path is read once however many keys come from it. No request is made here.
import type { InputValues } from '../../runtime/define';
import type { SecretRequest } from '../../lib/vault/read-secrets';
import type { Env } from '../../lib/util/env';
import { ShiplineError } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';
import type { inputs } from './index';

export type Inputs = InputValues<typeof inputs>;

export interface VaultPlan {
  url: string;
  roleId: string;
  secretId: string | undefined;
  namespace: string | undefined;
  /** The requests grouped by secret path (one read each). */
  groups: Map<string, SecretRequest[]>;
  /** How many secrets, over all paths. */
  count: number;
}

/** Job variables used when the inputs are empty (GitLab's own Vault variables use VAULT_ADDR). */
const unexpanded = (v: string | undefined) =>
  v === undefined || v.trim() === '' || /^\$\{?[A-Za-z_]/.test(v) ? undefined : v.trim();

/** Address, AppRole ids and the secrets to read; every input problem is raised here. */
export function planVault(
  i: Pick<Inputs, 'url' | 'roleId' | 'secretId' | 'namespace' | 'prefix' | 'secrets'>,
  env: Env,
): VaultPlan {
  const url = i.url ?? unexpanded(env.VAULT_ADDR);
  if (!url)
    throw new InputError(
      'url',
      'no Vault address (the input and VAULT_ADDR are empty)',
      'set url, or the job variable VAULT_ADDR',
    );
  if (!/^https?:\/\/\S+$/.test(url))
    throw new InputError('url', `VAULT_ADDR '${url}' is not an http(s) URL`, 'e.g. https://vault.example.com:8200');
  const requests = i.secrets.length ? fromLines(i.secrets) : fromPrefixedEnv(env, i.prefix);
  const groups = groupByPath(requests);
  if (requests.length === 0) {
    // Later script lines expect the variables: failing here beats failing there obscurely.
    // Nothing to read is the job's configuration, not Vault's answer: exit 2.
    if (i.secrets.length)
      throw new InputError(
        'secrets',
        'lists no secret (only comments or empty items)',
        'write lines <mount>/<path> <key> | NAME, e.g. secret/fake-app/db password | DB_PASSWORD',
      );
    throw new InputError(
      'prefix',
      `no ${i.prefix}* variables reach this job: nothing to read from Vault`,
      `define ${i.prefix}NAME=<mount>/<path>/<key> variables (protected variables reach only protected branches and tags), or give the secrets input`,
    );
  }
  const roleId = credential('role-id', 'VAULT_ROLE_ID', i.roleId?.trim() || unexpanded(env.VAULT_ROLE_ID));
  if (!roleId)
    throw new InputError(
      'role-id',
      'no AppRole role id (the input and VAULT_ROLE_ID are empty)',
      'set role-id, or the job variable VAULT_ROLE_ID',
    );
  return {
    url,
    roleId,
    secretId: credential('secret-id', 'VAULT_SECRET_ID', i.secretId?.trim() || unexpanded(env.VAULT_SECRET_ID)),
    namespace: i.namespace?.trim() || unexpanded(env.VAULT_NAMESPACE),
    groups,
    count: requests.length,
  };
}

/** Shorter credentials cannot be masked in a log (each character would be); they are refused. */
export const MIN_CREDENTIAL = 4;

/** `check` of the role-id and secret-id inputs (the value is never shown). */
export const credentialCheck = (v: string): string | undefined =>
  v.trim().length > 0 && v.trim().length < MIN_CREDENTIAL
    ? `is shorter than ${MIN_CREDENTIAL} characters: a value that short cannot be masked in the log`
    : undefined;

function credential(input: 'role-id' | 'secret-id', variable: string, value: string | undefined): string | undefined {
  const problem = value === undefined ? undefined : credentialCheck(value);
  if (problem)
    throw new InputError(input, `(or ${variable}) ${problem}`, 'use the real AppRole id (Vault generates UUIDs)');
  return value;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LINE_SOURCE = 'secrets line';

/** A bad location, named by where it came from (a V_ variable or a secrets line): exit 2. */
function badLocation(source: string, message: string, hint: string): ShiplineError {
  return new ShiplineError(message, {
    kind: 'input',
    hint,
    data: { input: source.startsWith(LINE_SOURCE) ? 'secrets' : 'prefix', source },
  });
}

/** Splits `<location>` into mount (when `//` marks it), path and key. */
function splitLocation(location: string, source: string): { path: string; key: string; mount?: string } {
  const text = location.trim().replace(/^\/+/, '');
  let mount: string | undefined;
  let rest = text;
  const cut = text.indexOf('//');
  if (cut >= 0) {
    mount = text.slice(0, cut).replace(/\/+$/, '');
    rest = text.slice(cut + 2);
    if (!mount)
      throw badLocation(
        source,
        `${source}: '${location}' has an empty mount before '//'`,
        'write <mount>//<path>/<key>, e.g. teams/ci//app/db/password',
      );
  }
  const parts = rest.split('/').filter((p) => p !== '');
  const minParts = mount ? 2 : 3;
  if (parts.length < minParts) {
    throw badLocation(
      source,
      `${source}: '${location}' is not a secret location`,
      'write <mount>/<path>/<key>, e.g. secret/fake-app/users/fake-user/password (a mount of several segments: teams/ci//app/db/password)',
    );
  }
  const key = parts.pop()!;
  const path = mount ? `${mount}/${parts.join('/')}` : parts.join('/');
  return mount ? { path, key, mount } : { path, key };
}

/** `V_FOO=secret/app/db/password` variables of env -> requests exporting `FOO`. */
export function fromPrefixedEnv(env: Env, prefix: string): SecretRequest[] {
  const out: SecretRequest[] = [];
  for (const [variable, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!variable.startsWith(prefix) || variable.length === prefix.length || value === undefined || value.trim() === '')
      continue;
    const name = variable.slice(prefix.length);
    if (!NAME_RE.test(name)) continue;
    out.push({ name, ...splitLocation(value, variable), source: variable });
  }
  return out;
}

/** Lines `<mount>/<path> <key> | NAME` (NAME defaults to the key in upper case); `;` also separates. */
export function fromLines(lines: string[]): SecretRequest[] {
  const out: SecretRequest[] = [];
  const items = lines
    .flatMap((l) => l.split(';'))
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  items.forEach((line, i) => {
    const source = `${LINE_SOURCE} ${i + 1}`;
    const m = /^(\S+)\s+([^\s|]+)\s*(?:\|\s*(\S+))?$/.exec(line);
    if (!m)
      throw badLocation(
        source,
        `${source}: '${line}' is not '<path> <key> | NAME'`,
        'e.g. secret/fake-app/db password | DB_PASSWORD',
      );
    const name = m[3] ?? m[2]!.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    if (!NAME_RE.test(name))
      throw badLocation(
        source,
        `${source}: '${name}' is not a valid variable name`,
        'use letters, digits and _ (not starting with a digit)',
      );
    out.push({ name, ...splitLocation(`${m[1]!.replace(/\/+$/, '')}/${m[2]!}`, source), source });
  });
  return out;
}

/** Rejects two requests exporting one name; groups the rest by path (insertion order). */
export function groupByPath(requests: SecretRequest[]): Map<string, SecretRequest[]> {
  const seen = new Map<string, SecretRequest>();
  const groups = new Map<string, SecretRequest[]>();
  for (const r of requests) {
    const other = seen.get(r.name);
    if (other)
      throw new ShiplineError(`${r.name} is asked for twice (${other.source} and ${r.source})`, {
        kind: 'input',
        hint: 'give each variable one location',
        data: { name: r.name },
      });
    seen.set(r.name, r);
    const list = groups.get(r.path) ?? [];
    list.push(r);
    groups.set(r.path, list);
  }
  return groups;
}
