// Image references, parsed and normalised once (the crane/regclient idea): registry,
// repository, tag or digest. Grammar per the Distribution reference spec.
import { ShiplineError } from '../util/errors';

export interface ImageRef {
  /** Registry host[:port] as written, or 'docker.io' when omitted. */
  registry: string;
  /** Repository path, lowercase (Docker Hub's single names get 'library/'). */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPO_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** The digests shipline accepts, in references and in registry responses: sha256 and sha512. */
export const DIGEST_RE = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;

export class ReferenceError extends ShiplineError {
  constructor(message: string) {
    super(message, { kind: 'invalid' });
    this.name = 'ReferenceError';
  }
}

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

function isHost(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[');
}

/**
 * Parses `[host[:port]/]path[:tag][@digest]`. The repository is lowercased (users write
 * `registry.example.com/Team/App`; registries reject capitals), nothing else is changed.
 */
export function parseReference(input: string, opts: { allowTag?: boolean; allowDigest?: boolean } = {}): ImageRef {
  const allowTag = opts.allowTag ?? true;
  const allowDigest = opts.allowDigest ?? true;
  const ref = input.trim();
  if (ref === '') throw new ReferenceError('an image reference is empty');
  if (/\s/.test(ref)) throw new ReferenceError(`'${ref}' contains white space`);
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest))
      throw new ReferenceError(`'${ref}': '${digest}' is not a digest (sha256:<64 hex> or sha512:<128 hex>)`);
    if (!allowDigest) throw new ReferenceError(`'${ref}' has a digest; give a repository without one`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag))
      throw new ReferenceError(
        `'${ref}': tag '${tag}' is not valid (letters, digits, '_', '.', '-'; ≤128; not starting with '.' or '-')`,
      );
    if (!allowTag)
      throw new ReferenceError(`'${ref}' has a tag; give a repository without one (tags come from the tag rules)`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  if (parts.length > 1 && isHost(parts[0]!)) {
    registry = parts.shift()!;
    if (!HOST_RE.test(registry)) throw new ReferenceError(`'${ref}': '${registry}' is not a registry host[:port]`);
  }
  let repository = parts.join('/').toLowerCase();
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!REPO_RE.test(repository)) {
    throw new ReferenceError(
      `'${ref}': repository '${repository}' is not valid (lowercase letters, digits, separators '.', '_', '-', '/')`,
    );
  }
  if (registry.length + 1 + repository.length > 255) throw new ReferenceError(`'${ref}' is longer than 255 characters`);
  return { registry, repository, tag, digest };
}

/** The repository as users write it: Docker Hub without host and 'library/'. */
export function repositoryName(ref: Pick<ImageRef, 'registry' | 'repository'>, keepDockerHub = false): string {
  if (ref.registry === 'docker.io' && !keepDockerHub) {
    return ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
  }
  return `${ref.registry}/${ref.repository}`;
}

export function formatReference(ref: ImageRef): string {
  let s = repositoryName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** Normalises an `images` entry (no tag/digest) to `host/path` with a lowercase path. */
export function normaliseRepository(input: string): string {
  const ref = parseReference(input, { allowTag: false, allowDigest: false });
  return repositoryName(ref);
}

/** 127.0.0.0/8, localhost and [::1] (with or without a port): reached over plain HTTP by default. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The registry host of a reference as docker sees it ('docker.io' when none), or undefined when it does not parse. */
export function registryOf(ref: string): string | undefined {
  try {
    return parseReference(ref).registry;
  } catch {
    return undefined;
  }
}

/** DIGEST_RE without its anchors, a group to embed in bigger patterns (`digest: (${DIGEST_PATTERN})`). */
export const DIGEST_PATTERN = DIGEST_RE.source.replace(/^\^|\$$/g, '');
