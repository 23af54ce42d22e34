// What retag and untag (and other steps that reach a registry over its API) share: input
// checks for tags, references and registry hosts, the insecure-registries input, and the
// hints for registry failures worded with these inputs.
import type { InputSpec } from '../../runtime/define';
import { parseReference, ReferenceError, TAG_RE } from '../../lib/registry/reference';
import type { ShiplineError } from '../../lib/util/errors';

export function checkTag(value: string): string | undefined {
  return TAG_RE.test(value)
    ? undefined
    : `'${value}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`;
}

/** `check` for a reference input: the parser's complaint, or undefined. */
export function referenceProblem(value: string, opts: { allowDigest?: boolean } = {}): string | undefined {
  try {
    parseReference(value, opts);
  } catch (e) {
    return e instanceof ReferenceError ? e.message : String(e);
  }
  return undefined;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_PORT_RE = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{1,5}))?$`);

/** `check` of insecure-registries: a registry `host[:port]` (no scheme, path or white space). */
export function checkRegistryHost(value: string): string | undefined {
  const m = HOST_PORT_RE.exec(value);
  if (!m || (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65535)))
    return `'${value}' is not a registry host[:port] (e.g. registry.internal:5000)`;
  return undefined;
}

export const INSECURE_REGISTRIES_INPUT = {
  type: 'list',
  description:
    'Registries (host[:port]) reached over plain HTTP. Loopback registries (127.0.0.0/8, localhost, [::1]) always are.',
  form: 'host[:port] items',
  check: checkRegistryHost,
} as const satisfies InputSpec;

/** Hints for what the registry client and ECR calls report, worded with these steps' inputs. */
export function registryHint(err: ShiplineError, loginHint: string, ecrPermissions: string): string | undefined {
  const d = err.data;
  if (d.unreachable && d.plainHttp === false)
    return 'check the registry address; a registry without TLS must be listed in input insecure-registries';
  if (err.kind === 'auth' && d.anonymous) return loginHint;
  if (d.missing === 'region')
    return 'set AWS_REGION (the assume-role step exports it) or use an ECR host name <account>.dkr.ecr.<region>.amazonaws.com';
  if (d.operation && (err.kind === 'auth' || err.kind === 'denied')) {
    return `check the AWS credentials in the job (assume-role step) and that the role may ${ecrPermissions} on this repository`;
  }
  return undefined;
}

export const LOGIN_HINT =
  'log in first (docker login --password-stdin, or the ecr-login step) so docker config.json holds credentials for this registry';

/** A registry host the URL parser refuses (`localhost:99999`, `[:]`): the input's error, not a failed connection. */
export function registryHostProblem(value: string, registry: string): string | undefined {
  let port: string | undefined;
  try {
    port = new URL(`http://${registry}/`).port;
  } catch {
    port = undefined;
  }
  if (port === undefined || port === '0')
    return `'${value}': '${registry}' is not a registry host[:port] (a port is 1 to 65535)`;
  // A DNS name: labels of at most 63 characters, 253 in all (the URL parser does not check).
  const host = registry.replace(/:\d+$/, '');
  if (!host.startsWith('[') && (host.length > 253 || host.split('.').some((l) => l.length > 63)))
    return `'${value}': '${registry}' is not a host name (at most 63 characters between dots, 253 in all)`;
  return undefined;
}
