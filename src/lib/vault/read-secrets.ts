// Turns grouped requests into values: the KV version and mount of each path (one probe per
// mount when the version is 'auto'), then one read per distinct path, then the keys picked out.
import { isShiplineError, ShiplineError } from '../util/errors';
import type { KvVersion, MountInfo, VaultClient } from './client';

/** One secret to read and the variable it becomes. */
export interface SecretRequest {
  /** Variable to export. */
  name: string;
  /** Secret path including its mount, without the key: `secret/fake-app/users/fake-user`. */
  path: string;
  key: string;
  /** The mount when written explicitly with `//` (`teams/ci//app/db`), else undefined. */
  mount?: string;
  /** Where the request came from, for errors: a variable name or a line of a list. */
  source: string;
}

export interface SecretValue {
  name: string;
  value: string;
  path: string;
  key: string;
}

/** Mount + relative path of `path` without a probe: `//` when written, else the first segment. */
export function staticMount(
  req: Pick<SecretRequest, 'path' | 'mount'>,
  version: KvVersion,
): { where: MountInfo; rest: string } {
  const mount = req.mount ?? req.path.split('/')[0]!;
  return { where: { mount, version }, rest: req.path.slice(mount.length + 1) };
}

export async function readSecrets(
  client: VaultClient,
  groups: Map<string, SecretRequest[]>,
  kvVersion: 'auto' | KvVersion,
): Promise<SecretValue[]> {
  const mounts: MountInfo[] = [];
  const out: SecretValue[] = [];
  for (const [path, reqs] of groups) {
    try {
      await readGroup(client, path, reqs, kvVersion, mounts, out);
    } catch (err) {
      // Say which variables (or lines) asked for the path that failed.
      if (isShiplineError(err) && !reqs.some((r) => err.message.startsWith(`${r.source}:`))) {
        throw new ShiplineError(`${reqs.map((r) => r.source).join(', ')}: ${err.message}`, {
          kind: err.kind,
          hint: err.hint,
          exitCode: err.exitCode,
          cause: err,
          data: { ...err.data },
        });
      }
      throw err;
    }
  }
  return out;
}

async function readGroup(
  client: VaultClient,
  path: string,
  reqs: SecretRequest[],
  kvVersion: 'auto' | KvVersion,
  mounts: MountInfo[],
  out: SecretValue[],
): Promise<void> {
  const first = reqs[0]!;
  let where: MountInfo;
  let rest: string;
  if (kvVersion === 'auto') {
    const known = mounts.find((m) => path.startsWith(`${m.mount}/`));
    where = known ?? (await client.mountOf(path));
    if (!known) mounts.push(where);
    rest = path.slice(where.mount.length + 1);
    if (first.mount && first.mount !== where.mount) {
      throw new ShiplineError(
        `${first.source}: '${first.mount}' is not a mount; Vault says '${path}' is under '${where.mount}'`,
        { kind: 'invalid', hint: `write ${where.mount}//${rest}/<key>` },
      );
    }
    if (!rest)
      throw new ShiplineError(`${first.source}: '${path}' is the mount itself, not a secret in it`, {
        kind: 'invalid',
        hint: 'write <mount>/<path>/<key>',
      });
  } else {
    ({ where, rest } = staticMount(first, kvVersion));
  }
  const data = await client.readKv(where, rest);
  for (const r of reqs) {
    if (!Object.prototype.hasOwnProperty.call(data, r.key)) {
      const keys = Object.keys(data);
      throw new ShiplineError(`${r.source}: key '${r.key}' not found in secret '${path}'`, {
        kind: 'not-found',
        hint: keys.length ? `keys there: ${keys.join(', ')}` : 'the secret has no keys',
      });
    }
    const v = data[r.key];
    out.push({ name: r.name, path, key: r.key, value: typeof v === 'string' ? v : JSON.stringify(v) });
  }
}
