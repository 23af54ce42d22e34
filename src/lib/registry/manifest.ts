// Registry verbs over a RegistryClient: manifests moved as exact bytes plus media type
// (never re-serialised, so digests survive), read with Distribution's 4 MiB cap,
// digest-verified on the way in (sha256/sha512 only, whatever the registry claims), and
// blobs copied by cross-repository mount with a streamed upload as the fallback.
import { createHash } from 'node:crypto';
import { isShiplineError, ShiplineError } from '../util/errors';
import type { RegistryClient } from './client';
import { isDigest } from './reference';

/** Distribution's own limit on a manifest (registry/handlers: maxManifestBodySize). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A blob stream may take this long, as a whole. */
const BLOB_DEADLINE_MS = 3_600_000;

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/** All four, or Distribution answers an index with one platform's child (or schema1). */
export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

const shownRef = (repository: string, ref: string) => (isDigest(ref) ? `${repository}@${ref}` : `${repository}:${ref}`);

/**
 * A digest the registry sent (a header, a descriptor): only sha256/sha512 pass; anything
 * else (md5:, a path) is refused before it reaches a URL, a comparison or an output.
 */
export function acceptedDigest(
  value: string,
  c: Pick<RegistryClient, 'registry'>,
  where: string,
  data: Record<string, unknown> = {},
): string {
  if (isDigest(value)) return value;
  const shown = value.length > 140 ? `${value.slice(0, 140)}…` : value;
  throw new ShiplineError(
    `${c.registry} sent ${where} '${shown}', not a sha256 or sha512 digest; shipline accepts no other algorithm`,
    { kind: 'invalid', data: { registry: c.registry, digest: shown, problem: 'digest-algorithm', ...data } },
  );
}

/** Whether `bytes` hash to `digest` (its own algorithm). */
function matches(bytes: Buffer, digest: string): boolean {
  return digestOf(bytes, digest.slice(0, digest.indexOf(':'))) === digest;
}

export function isIndex(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.dockerList || mediaType === MEDIA_TYPES.ociIndex;
}

/**
 * A manifest's media type: the Content-Type when it says one, else the manifest's own
 * `mediaType` field, else the generic header, else Docker's v2 manifest (what a manifest
 * without either is).
 */
export function mediaTypeOf(manifest: Buffer | string, contentType?: string | null): string {
  const h = (contentType ?? '').split(';')[0]!.trim();
  if (h && h !== 'application/json' && h !== 'application/octet-stream') return h;
  try {
    const own = (JSON.parse(manifest.toString()) as { mediaType?: unknown }).mediaType;
    if (typeof own === 'string' && own) return own;
  } catch {
    // not JSON: fall through
  }
  return h || MEDIA_TYPES.dockerManifest;
}

/** HEAD a manifest: its digest and media type without the body, or undefined when absent. */
export async function headManifest(
  c: RegistryClient,
  repository: string,
  ref: string,
): Promise<{ digest: string; mediaType: string } | undefined> {
  const res = await c.request('HEAD', `/v2/${repository}/manifests/${ref}`, {
    headers: { accept: MANIFEST_ACCEPT },
    ok: [200, 404],
  });
  await res.discard();
  if (res.status === 404) return undefined;
  const digest = res.headers.get('docker-content-digest');
  if (!digest) {
    // Some registries omit the header on HEAD; fall back to reading the bytes.
    const m = await getManifest(c, repository, ref);
    return m && { digest: m.digest, mediaType: m.mediaType };
  }
  const ok = acceptedDigest(digest, c, 'Docker-Content-Digest', { repository, ref });
  if (isDigest(ref) && ok !== ref) {
    throw new ShiplineError(`${c.registry}/${repository}@${ref} answered with digest ${ok}`, {
      kind: 'invalid',
      data: { registry: c.registry, repository, ref, expected: ref, actual: ok },
    });
  }
  return { digest: ok, mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim() };
}

/** GET a manifest and check that its bytes hash to the digest asked for and the one the registry claims. */
export async function getManifest(c: RegistryClient, repository: string, ref: string): Promise<Manifest | undefined> {
  const what = `the manifest of ${c.registry}/${shownRef(repository, ref)}`;
  let res;
  try {
    res = await c.request('GET', `/v2/${repository}/manifests/${ref}`, {
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200, 404],
      read: { maxBytes: MAX_MANIFEST_BYTES, what },
    });
  } catch (err) {
    if (isShiplineError(err) && err.data.tooLarge)
      throw new ShiplineError(err.message, {
        kind: 'invalid',
        hint: 'a registry keeps manifests under 4 MiB (Distribution refuses larger ones); nothing was written',
        cause: err,
        data: { ...err.data, registry: c.registry, repository, ref },
      });
    throw err;
  }
  if (res.status === 404) {
    await res.discard();
    return undefined;
  }
  const bytes = await res.buffer({ maxBytes: MAX_MANIFEST_BYTES, what });
  const header = res.headers.get('docker-content-digest');
  const claimed = header ? acceptedDigest(header, c, 'Docker-Content-Digest', { repository, ref }) : undefined;
  // The digest asked for, else the one claimed, else sha256 of the bytes; each checked in its own algorithm.
  const digest = (isDigest(ref) ? ref : undefined) ?? claimed ?? digestOf(bytes);
  for (const want of [isDigest(ref) ? ref : undefined, claimed]) {
    if (want && !matches(bytes, want)) {
      const actual = digestOf(bytes, want.slice(0, want.indexOf(':')));
      throw new ShiplineError(`${what} does not match its digest: expected ${want}, the bytes hash to ${actual}`, {
        kind: 'invalid',
        hint: 'something between here and the registry altered the manifest; nothing was written',
        data: { registry: c.registry, repository, ref, expected: want, actual },
      });
    }
  }
  return { bytes, mediaType: mediaTypeOf(bytes, res.headers.get('content-type')), digest };
}

/** PUT the exact bytes under a tag (or digest) with Content-Type = the media type. */
export async function putManifest(c: RegistryClient, repository: string, ref: string, m: Manifest): Promise<void> {
  const res = await c.request('PUT', `/v2/${repository}/manifests/${ref}`, {
    headers: { 'content-type': m.mediaType },
    body: m.bytes,
    ok: [201, 200, 202],
  });
  await res.discard();
  const header = res.headers.get('docker-content-digest');
  const stored = header ? acceptedDigest(header, c, 'Docker-Content-Digest', { repository, ref }) : undefined;
  if (stored && stored !== m.digest && !matches(m.bytes, stored)) {
    throw new ShiplineError(`${c.registry}/${repository}:${ref} was stored with digest ${stored}, not ${m.digest}`, {
      kind: 'invalid',
      hint: 'the registry re-serialised the manifest; it does not keep digests and cannot be used for digest-exact promotion',
      data: { registry: c.registry, repository, ref, expected: m.digest, actual: stored },
    });
  }
}

/** What a manifest points at: child manifests of an index, or the config and layers of an image. */
export function references(
  m: Manifest,
  c: Pick<RegistryClient, 'registry'> = { registry: 'the registry' },
): {
  manifests: Descriptor[];
  blobs: Descriptor[];
} {
  let doc: { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  try {
    doc = JSON.parse(m.bytes.toString('utf8')) as typeof doc;
  } catch {
    throw new ShiplineError(`the manifest ${m.digest} from ${c.registry} is not JSON`, {
      kind: 'invalid',
      data: { registry: c.registry, digest: m.digest },
    });
  }
  const list = (v: unknown): Descriptor[] => (Array.isArray(v) ? (v as Descriptor[]) : []);
  const found = isIndex(m.mediaType)
    ? { manifests: list(doc.manifests), blobs: [] }
    : { manifests: [], blobs: [...(doc.config ? [doc.config] : []), ...list(doc.layers)] };
  // A descriptor's digest goes into a URL path: only sha256/sha512 pass.
  for (const d of [...found.manifests, ...found.blobs])
    acceptedDigest(String(d?.digest), c, `a descriptor in manifest ${m.digest} with digest`, { manifest: m.digest });
  return found;
}

export type BlobResult = 'present' | 'mounted' | 'uploaded';

export async function blobExists(c: RegistryClient, repository: string, digest: string): Promise<boolean> {
  const res = await c.request('HEAD', `/v2/${repository}/blobs/${digest}`, { ok: [200, 404] });
  await res.discard();
  return res.status === 200;
}

/**
 * Puts a blob into dst. Same registry: one POST with `mount=…&from=…` (201: mounted, no
 * bytes move; 202: not mountable, upload to the URL it returned). Other registry: HEAD,
 * then a streamed upload from the source.
 */
export async function copyBlob(
  src: RegistryClient,
  srcRepo: string,
  dst: RegistryClient,
  dstRepo: string,
  blob: Descriptor,
): Promise<BlobResult> {
  let location: string | null;
  if (src.registry === dst.registry) {
    const q = new URLSearchParams({ mount: blob.digest, from: srcRepo });
    const res = await dst.request('POST', `/v2/${dstRepo}/blobs/uploads/?${q}`, { ok: [201, 202] });
    await res.discard();
    if (res.status === 201) return 'mounted';
    location = res.headers.get('location');
  } else {
    if (await blobExists(dst, dstRepo, blob.digest)) return 'present';
    const res = await dst.request('POST', `/v2/${dstRepo}/blobs/uploads/`, { ok: [202] });
    await res.discard();
    location = res.headers.get('location');
  }
  if (!location)
    throw new ShiplineError(`${dst.registry} started an upload to ${dstRepo} without a Location header`, {
      kind: 'invalid',
      data: { registry: dst.registry, repository: dstRepo },
    });
  await uploadFrom(src, srcRepo, dst, dstRepo, blob, location);
  return 'uploaded';
}

async function uploadFrom(
  src: RegistryClient,
  srcRepo: string,
  dst: RegistryClient,
  dstRepo: string,
  blob: Descriptor,
  location: string,
): Promise<void> {
  const get = await src.request('GET', `/v2/${srcRepo}/blobs/${blob.digest}`, {
    ok: [200],
    timeoutMs: 3_600_000,
    deadlineMs: BLOB_DEADLINE_MS,
  });
  const url = new URL(location, dst.base);
  url.searchParams.set('digest', blob.digest);
  const length = get.headers.get('content-length') ?? String(blob.size);
  // The registry checks the digest of what it received (the ?digest= parameter).
  const put = await dst.request('PUT', '', {
    url: url.toString(),
    headers: { 'content-type': 'application/octet-stream', 'content-length': length },
    body: get.stream(),
    ok: [201, 204],
    timeoutMs: 3_600_000,
    deadlineMs: BLOB_DEADLINE_MS,
  });
  await put.discard();
}

export interface CopyStats {
  manifests: number;
  blobs: Record<BlobResult, number>;
}

/**
 * Copies a manifest tree (index → children → blobs) from src to dst by digest, then
 * tags the top. Children go first so the registry accepts each parent.
 */
export async function copyTree(
  src: RegistryClient,
  srcRepo: string,
  dst: RegistryClient,
  dstRepo: string,
  m: Manifest,
  ref: string,
  stats: CopyStats = { manifests: 0, blobs: { present: 0, mounted: 0, uploaded: 0 } },
  limit = 4,
): Promise<CopyStats> {
  const { manifests, blobs } = references(m, src);
  await pool(blobs, limit, async (b) => {
    stats.blobs[await copyBlob(src, srcRepo, dst, dstRepo, b)]++;
  });
  await pool(manifests, limit, async (d) => {
    if (await headManifest(dst, dstRepo, d.digest)) return;
    const child = await getManifest(src, srcRepo, d.digest);
    if (!child)
      throw new ShiplineError(
        `${src.registry}/${srcRepo}@${d.digest} (a child of the index) is missing at the source`,
        { kind: 'not-found', data: { registry: src.registry, repository: srcRepo, digest: d.digest } },
      );
    await copyTree(src, srcRepo, dst, dstRepo, child, d.digest, stats, limit);
  });
  await putManifest(dst, dstRepo, ref, m);
  stats.manifests++;
  return stats;
}

/** Runs fn over items with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
