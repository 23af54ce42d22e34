// What to read from Vault: `V_NAME=<mount>/<path>/<key>` variables (seed 000's convention)
// and explicit `<mount>/<path> <key> | NAME` lines, grouped so each distinct path is read
// once however many keys come from it.
import { ShiplineError } from '../util/errors';

export interface SecretRequest {
  /** Variable to export. */
  name: string;
  /** Secret path including its mount, without the key: `secret/fake-app/users/fake-user`. */
  path: string;
  key: string;
  /** The mount when written explicitly with `//` (`teams/ci//app/db`), else undefined. */
  mount?: string;
  /** Where the request came from, for errors: `V_FAKE_APP_PASSWORD` or `secrets line 2`. */
  source: string;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits `<location>` into mount (when `//` marks it), path and key. */
function splitLocation(location: string, source: string): { path: string; key: string; mount?: string } {
  const text = location.trim().replace(/^\/+/, '');
  let mount: string | undefined;
  let rest = text;
  const cut = text.indexOf('//');
  if (cut >= 0) {
    mount = text.slice(0, cut).replace(/\/+$/, '');
    rest = text.slice(cut + 2);
    if (!mount) throw new ShiplineError(`${source}: '${location}' has an empty mount before '//'`, { hint: 'write <mount>//<path>/<key>, e.g. teams/ci//app/db/password' });
  }
  const parts = rest.split('/').filter((p) => p !== '');
  const minParts = mount ? 2 : 3;
  if (parts.length < minParts) {
    throw new ShiplineError(`${source}: '${location}' is not a secret location`, {
      hint: 'write <mount>/<path>/<key>, e.g. secret/fake-app/users/fake-user/password (a mount of several segments: teams/ci//app/db/password)',
    });
  }
  const key = parts.pop()!;
  const path = mount ? `${mount}/${parts.join('/')}` : parts.join('/');
  return mount ? { path, key, mount } : { path, key };
}

/** `V_FOO=secret/app/db/password` variables of env -> requests exporting `FOO`. */
export function fromPrefixedEnv(env: Readonly<Record<string, string | undefined>>, prefix: string): SecretRequest[] {
  const out: SecretRequest[] = [];
  for (const [variable, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!variable.startsWith(prefix) || variable.length === prefix.length || value === undefined || value.trim() === '') continue;
    const name = variable.slice(prefix.length);
    if (!NAME_RE.test(name)) continue;
    out.push({ name, ...splitLocation(value, variable), source: variable });
  }
  return out;
}

/** Lines `<mount>/<path> <key> | NAME` (NAME defaults to the key in upper case); `;` also separates. */
export function fromLines(lines: string[]): SecretRequest[] {
  const out: SecretRequest[] = [];
  const items = lines.flatMap((l) => l.split(';')).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  items.forEach((line, i) => {
    const source = `secrets line ${i + 1}`;
    const m = /^(\S+)\s+([^\s|]+)\s*(?:\|\s*(\S+))?$/.exec(line);
    if (!m) throw new ShiplineError(`${source}: '${line}' is not '<path> <key> | NAME'`, { hint: 'e.g. secret/fake-app/db password | DB_PASSWORD' });
    const name = m[3] ?? m[2]!.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    if (!NAME_RE.test(name)) throw new ShiplineError(`${source}: '${name}' is not a valid variable name`, { hint: 'use letters, digits and _ (not starting with a digit)' });
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
    if (other) throw new ShiplineError(`${r.name} is asked for twice (${other.source} and ${r.source})`, { hint: 'give each variable one location' });
    seen.set(r.name, r);
    const list = groups.get(r.path) ?? [];
    list.push(r);
    groups.set(r.path, list);
  }
  return groups;
}
