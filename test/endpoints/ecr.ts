// Loopback Amazon ECR API (JSON 1.1 protocol, SigV4) in front of the bench's basic-auth
// registry: GetAuthorizationToken hands out `AWS:<password>` for that registry, and
// BatchGetImage/PutImage move manifest bytes over the Registry HTTP API like ECR's retag.
// BatchDeleteImage removes tags as ECR does: the tag only while another tag holds the
// image, the image with its last tag. Distribution 2.8 has no tag delete, so a tag alone is
// removed from the registry's filesystem storage (what its own Untag does: the tag's
// directory under _manifests/tags), the last one by DELETE of the digest.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import type { BenchConfig } from './config';
import { Endpoint, type FaultRender } from './control';
import { verifySigV4 } from './sigv4';
import type { CredentialStore } from './sts';

const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

interface Repo {
  name: string;
  mutability: 'MUTABLE' | 'IMMUTABLE';
  createdAt: number;
}

interface ImageId {
  imageTag?: string;
  imageDigest?: string;
}

class EcrError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function sendAwsJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': String(body.length),
    'x-amzn-requestid': crypto.randomUUID(),
    ...headers,
  });
  res.end(body);
}

function sendEcrError(res: ServerResponse, status: number, type: string, message: string, retryAfter?: number): void {
  const headers: Record<string, string> = { 'x-amzn-errortype': type };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  sendAwsJson(res, status, { __type: type, message }, headers);
}

export function defaultRepos(): Repo[] {
  const now = Date.now() / 1000;
  return [
    { name: 'shipline/app', mutability: 'MUTABLE', createdAt: now },
    { name: 'shipline/immutable', mutability: 'IMMUTABLE', createdAt: now },
  ];
}

export function createEcr(cfg: BenchConfig, store: CredentialStore): Endpoint {
  const registryHost = `${cfg.host}:${cfg.ports.basic}`;
  const registry = `http://${registryHost}`;
  const basic = `Basic ${Buffer.from(`AWS:${cfg.registry.awsPassword}`).toString('base64')}`;
  let repos = defaultRepos();

  const repoJson = (r: Repo) => ({
    repositoryArn: `arn:aws:ecr:${cfg.region}:${cfg.account}:repository/${r.name}`,
    registryId: cfg.account,
    repositoryName: r.name,
    repositoryUri: `${registryHost}/${r.name}`,
    createdAt: r.createdAt,
    imageTagMutability: r.mutability,
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
  });

  /** Every repository pushed to: Distribution pages the catalog (at most 1000 a page); bounded at 20 pages. */
  async function catalog(): Promise<string[]> {
    const names: string[] = [];
    let next: string | undefined = `${registry}/v2/_catalog?n=1000`;
    for (let page = 0; next && page < 20; page++) {
      const r: Response = await fetch(next, { headers: { authorization: basic } });
      if (!r.ok) break;
      names.push(...(((await r.json()) as { repositories?: string[] }).repositories ?? []));
      const link = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1];
      next = link ? new URL(link, registry).toString() : undefined;
    }
    return names;
  }

  /** Whether the registry holds the repository (pushed to, never created): one tags/list call, however many repositories the bench holds. */
  async function pushedTo(name: string): Promise<boolean> {
    const r = await fetch(`${registry}/v2/${name}/tags/list?n=1`, { headers: { authorization: basic } });
    await r.arrayBuffer();
    return r.ok;
  }

  async function repo(name: unknown): Promise<Repo> {
    if (typeof name !== 'string' || !name)
      throw new EcrError('InvalidParameterException', 'repositoryName must be provided');
    const known = repos.find((r) => r.name === name);
    if (known) return known;
    if (await pushedTo(name)) return { name, mutability: 'MUTABLE', createdAt: Date.now() / 1000 };
    throw new EcrError(
      'RepositoryNotFoundException',
      `The repository with name '${name}' does not exist in the registry with id '${cfg.account}'`,
    );
  }

  async function getManifest(
    name: string,
    ref: string,
  ): Promise<{ bytes: Buffer; mediaType: string; digest: string } | undefined> {
    const r = await fetch(`${registry}/v2/${name}/manifests/${ref}`, {
      headers: { authorization: basic, accept: MANIFEST_ACCEPT },
    });
    if (r.status === 404) return undefined;
    if (!r.ok) throw new EcrError('ServerException', `registry answered ${r.status} for ${name}:${ref}`, 500);
    const bytes = Buffer.from(await r.arrayBuffer());
    const digest =
      r.headers.get('docker-content-digest') ?? `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
    return { bytes, mediaType: (r.headers.get('content-type') ?? '').split(';')[0]!.trim(), digest };
  }

  const ops: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {
    GetAuthorizationToken: async () => ({
      authorizationData: [
        {
          authorizationToken: Buffer.from(`AWS:${cfg.registry.awsPassword}`).toString('base64'),
          expiresAt: Math.floor(Date.now() / 1000) + 12 * 3600,
          proxyEndpoint: registry,
        },
      ],
    }),
    DescribeRepositories: async (input) => {
      const names = input.repositoryNames as string[] | undefined;
      if (names?.length) return { repositories: await Promise.all(names.map(async (n) => repoJson(await repo(n)))) };
      const extra = (await catalog())
        .filter((n) => !repos.some((r) => r.name === n))
        .map((name) => ({ name, mutability: 'MUTABLE' as const, createdAt: Date.now() / 1000 }));
      return { repositories: [...repos, ...extra].map(repoJson) };
    },
    CreateRepository: async (input) => {
      const name = String(input.repositoryName ?? '');
      if (
        !/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name) ||
        name.length < 2 ||
        name.length > 256
      ) {
        throw new EcrError(
          'InvalidParameterException',
          `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`,
        );
      }
      if (repos.some((r) => r.name === name)) {
        throw new EcrError(
          'RepositoryAlreadyExistsException',
          `The repository with name '${name}' already exists in the registry with id '${cfg.account}'`,
        );
      }
      const mutability = input.imageTagMutability === 'IMMUTABLE' ? 'IMMUTABLE' : 'MUTABLE';
      const r: Repo = { name, mutability, createdAt: Date.now() / 1000 };
      repos.push(r);
      return { repository: repoJson(r) };
    },
    BatchGetImage: async (input) => {
      const r = await repo(input.repositoryName);
      const ids = (input.imageIds as ImageId[] | undefined) ?? [];
      const images: unknown[] = [];
      const failures: unknown[] = [];
      for (const id of ids) {
        const ref = id.imageTag ?? id.imageDigest;
        if (!ref) {
          failures.push({
            imageId: id,
            failureCode: 'MissingDigestAndTag',
            failureReason: 'Invalid request: imageId must have tag or digest',
          });
          continue;
        }
        const m = await getManifest(r.name, ref);
        if (!m) {
          failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
          continue;
        }
        if (id.imageDigest && id.imageTag && m.digest !== id.imageDigest) {
          failures.push({
            imageId: id,
            failureCode: 'ImageTagDoesNotMatchDigest',
            failureReason: 'Requested image tag does not match the requested digest',
          });
          continue;
        }
        const imageId: ImageId = { imageDigest: m.digest };
        if (id.imageTag) imageId.imageTag = id.imageTag;
        images.push({
          registryId: cfg.account,
          repositoryName: r.name,
          imageId,
          imageManifest: m.bytes.toString('utf8'),
          imageManifestMediaType: m.mediaType,
        });
      }
      return { images, failures };
    },
    PutImage: async (input) => {
      const r = await repo(input.repositoryName);
      const manifest = input.imageManifest;
      if (typeof manifest !== 'string' || !manifest)
        throw new EcrError('InvalidParameterException', 'imageManifest must be provided');
      const tag = typeof input.imageTag === 'string' ? input.imageTag : undefined;
      const bytes = Buffer.from(manifest, 'utf8');
      const digest = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
      if (typeof input.imageDigest === 'string' && input.imageDigest !== digest) {
        throw new EcrError(
          'ImageDigestDoesNotMatchException',
          `The provided digest '${input.imageDigest}' does not match the computed digest '${digest}' of the manifest`,
        );
      }
      let mediaType = typeof input.imageManifestMediaType === 'string' ? input.imageManifestMediaType : '';
      if (!mediaType) {
        try {
          mediaType = String((JSON.parse(manifest) as { mediaType?: string }).mediaType ?? '');
        } catch {
          throw new EcrError('InvalidParameterException', 'Invalid parameter at imageManifest: not valid JSON');
        }
      }
      if (!mediaType)
        throw new EcrError(
          'InvalidParameterException',
          'imageManifestMediaType could not be determined; pass it explicitly',
        );
      if (tag) {
        const existing = await getManifest(r.name, tag);
        if (existing && existing.digest === digest) {
          throw new EcrError(
            'ImageAlreadyExistsException',
            `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${r.name}' in registry with id '${cfg.account}'`,
          );
        }
        if (existing && r.mutability === 'IMMUTABLE') {
          throw new EcrError(
            'ImageTagAlreadyExistsException',
            `The image tag '${tag}' already exists in the '${r.name}' repository and cannot be overwritten because the repository is immutable.`,
          );
        }
      }
      const put = await fetch(`${registry}/v2/${r.name}/manifests/${tag ?? digest}`, {
        method: 'PUT',
        headers: { authorization: basic, 'content-type': mediaType },
        body: bytes,
      });
      if (put.status === 400) {
        throw new EcrError(
          'InvalidParameterException',
          `registry rejected the manifest: ${(await put.text()).slice(0, 300)}`,
        );
      }
      if (!put.ok) throw new EcrError('ServerException', `registry answered ${put.status} to the manifest PUT`, 500);
      const imageId: ImageId = { imageDigest: digest };
      if (tag) imageId.imageTag = tag;
      return {
        image: {
          registryId: cfg.account,
          repositoryName: r.name,
          imageId,
          imageManifest: manifest,
          imageManifestMediaType: mediaType,
        },
      };
    },
    BatchDeleteImage: async (input) => {
      const r = await repo(input.repositoryName);
      const ids = (input.imageIds as ImageId[] | undefined) ?? [];
      const imageIds: ImageId[] = [];
      const failures: unknown[] = [];
      for (const id of ids) {
        const tag = id.imageTag;
        if (!tag) {
          // shipline removes by tag only; a digest-only delete is not emulated here.
          failures.push({
            imageId: id,
            failureCode: 'MissingDigestAndTag',
            failureReason: 'this loopback ECR deletes by imageTag only',
          });
          continue;
        }
        const m = await getManifest(r.name, tag);
        if (!m) {
          failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
          continue;
        }
        if (id.imageDigest && id.imageDigest !== m.digest) {
          failures.push({
            imageId: id,
            failureCode: 'ImageTagDoesNotMatchDigest',
            failureReason: 'Invalid request: the image tag does not match the digest',
          });
          continue;
        }
        const t = await fetch(`${registry}/v2/${r.name}/tags/list`, { headers: { authorization: basic } });
        const tags = t.ok ? (((await t.json()) as { tags?: string[] | null }).tags ?? []) : [];
        let shared = false;
        for (const other of tags)
          if (other !== tag && (await getManifest(r.name, other))?.digest === m.digest) shared = true;
        if (shared) {
          const dir = path.join(
            cfg.stateDir,
            'registry',
            'basic',
            'docker/registry/v2/repositories',
            r.name,
            '_manifests/tags',
            tag,
          );
          fs.rmSync(dir, { recursive: true, force: true });
        } else {
          const del = await fetch(`${registry}/v2/${r.name}/manifests/${m.digest}`, {
            method: 'DELETE',
            headers: { authorization: basic },
          });
          if (!del.ok && del.status !== 404)
            throw new EcrError('ServerException', `registry answered ${del.status} to the manifest DELETE`, 500);
        }
        imageIds.push({ imageDigest: m.digest, imageTag: tag });
      }
      return { imageIds, failures };
    },
    DescribeImages: async (input) => {
      const r = await repo(input.repositoryName);
      const t = await fetch(`${registry}/v2/${r.name}/tags/list`, { headers: { authorization: basic } });
      const tags = t.ok ? (((await t.json()) as { tags?: string[] | null }).tags ?? []) : [];
      const byDigest = new Map<string, { tags: string[]; mediaType: string; size: number }>();
      for (const tag of tags) {
        const m = await getManifest(r.name, tag);
        if (!m) continue;
        const e = byDigest.get(m.digest) ?? { tags: [], mediaType: m.mediaType, size: m.bytes.length };
        e.tags.push(tag);
        byDigest.set(m.digest, e);
      }
      const wanted = (input.imageIds as ImageId[] | undefined) ?? [];
      const details = [...byDigest.entries()]
        .filter(
          ([d, e]) =>
            !wanted.length || wanted.some((w) => w.imageDigest === d || (w.imageTag && e.tags.includes(w.imageTag))),
        )
        .map(([d, e]) => ({
          registryId: cfg.account,
          repositoryName: r.name,
          imageDigest: d,
          imageTags: e.tags,
          imageManifestMediaType: e.mediaType,
          imageSizeInBytes: e.size,
        }));
      if (wanted.length && !details.length)
        throw new EcrError(
          'ImageNotFoundException',
          `The image with imageId ${JSON.stringify(wanted[0])} does not exist within the repository with name '${r.name}' in the registry with id '${cfg.account}'`,
        );
      return { imageDetails: details };
    },
  };

  return new Endpoint({
    name: 'ecr',
    port: cfg.ports.ecr,
    classify: (req) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      return target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target || 'Unknown';
    },
    renderFault: (res, f: FaultRender) =>
      sendEcrError(
        res,
        f.status,
        f.status === 429 ? 'ThrottlingException' : f.status >= 500 ? 'ServerException' : f.code,
        f.message,
        f.retryAfter,
      ),
    reset: () => {
      repos = defaultRepos();
    },
    handle: async (req, res, meta) => {
      if (req.method !== 'POST') return sendEcrError(res, 404, 'UnknownOperationException', 'Only POST is supported');
      const auth = verifySigV4(req, meta.body, 'ecr', store.lookup);
      if (!auth.ok) {
        const type = auth.code === 'InvalidClientTokenId' ? 'UnrecognizedClientException' : auth.code;
        return sendEcrError(res, auth.status, type, auth.message);
      }
      meta.details.accessKeyId = auth.accessKeyId;
      const op = ops[meta.action];
      if (!op) return sendEcrError(res, 400, 'UnknownOperationException', `Unknown operation ${meta.action}`);
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(meta.body.toString() || '{}') as Record<string, unknown>;
      } catch {
        return sendEcrError(res, 400, 'SerializationException', 'Request body is not valid JSON');
      }
      if (typeof input.repositoryName === 'string') meta.details.repository = input.repositoryName;
      try {
        sendAwsJson(res, 200, await op(input));
      } catch (e) {
        if (e instanceof EcrError) {
          meta.details.error = e.type;
          return sendEcrError(res, e.status, e.type, e.message);
        }
        throw e;
      }
    },
  });
}
