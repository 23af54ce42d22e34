// ECR's own retag: BatchGetImage (source and targets in one call) + PutImage per tag
// that needs it, with shipline's classified retries (src/lib/aws/client.ts). Reached only
// through src/steps/retag/lazy.ts, so the SDK is parsed only when this method runs.
import { createHash } from 'node:crypto';
import { ShiplineError } from '../util/errors';
import { callWithRetry, clientConfig, endpointFor, type CallPolicy } from '../aws/client';
import { classifyAwsError } from '../aws/errors';
import { MEDIA_TYPES } from './manifest';
import { parseEcrHost } from './ecr-host';

type Env = Readonly<Record<string, string | undefined>>;

export interface EcrImage {
  manifest: string;
  mediaType: string;
  digest: string;
}

export interface EcrRepo {
  registry: string;
  repository: string;
}

export interface EcrSession {
  /** The source image and what each asked tag holds now (undefined: absent). */
  get(sourceRef: { tag?: string | undefined; digest?: string | undefined }, tags: string[]): Promise<{ source: EcrImage | undefined; tags: Map<string, string> }>;
  /** 'tagged', or 'unchanged' when ECR says the tag already holds this digest. */
  put(image: EcrImage, tag: string): Promise<'tagged' | 'unchanged'>;
  requests: number;
}

export async function ecrSession(repo: EcrRepo, env: Env, log: { warn(m: string): void; debug(m: string): void }, policy: CallPolicy = { maxAttempts: 4, deadlineMs: 60_000 }): Promise<EcrSession> {
  const host = parseEcrHost(repo.registry);
  const region = host?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ShiplineError(`method ecr-api needs an AWS region for ${repo.registry}`, { hint: 'set AWS_REGION (the assume-role step exports it) or use an ECR host name <account>.dkr.ecr.<region>.amazonaws.com' });
  }
  const sdk = await import('@aws-sdk/client-ecr');
  const endpoint = endpointFor(env, 'ECR');
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  const client = new sdk.ECRClient({ ...clientConfig({ region, endpoint, step: 'retag', attemptTimeoutMs: 10_000 }), ...(credentials ? { credentials } : {}) });
  const call = <T>(what: string, fn: (signal: AbortSignal) => Promise<T>) =>
    callWithRetry(`ECR ${what} on ${repo.repository}`, (_a, signal) => fn(signal), policy, (e) => classifyAwsError(e), log, 'the ECR API kept failing or throttling; re-run the job later').then((r) => r.value);
  const ids = { repositoryName: repo.repository, ...(host ? { registryId: host.account } : {}) };
  const where = `ECR repository ${repo.repository} (${repo.registry}, region ${region})`;
  const session: EcrSession = {
    requests: 0,
    async get(sourceRef, tags) {
      const sourceId = sourceRef.digest ? { imageDigest: sourceRef.digest } : { imageTag: sourceRef.tag! };
      session.requests++;
      const input = { ...ids, imageIds: [sourceId, ...tags.map((t) => ({ imageTag: t }))], acceptedMediaTypes: Object.values(MEDIA_TYPES) };
      const out = await call('BatchGetImage', (abortSignal) => client.send(new sdk.BatchGetImageCommand(input), { abortSignal })).catch((e: unknown) => {
        throw explain(e, where, 'BatchGetImage');
      });
      let source: EcrImage | undefined;
      const held = new Map<string, string>();
      for (const img of out.images ?? []) {
        const digest = img.imageId?.imageDigest;
        if (!digest || !img.imageManifest) continue;
        const isSource = sourceRef.digest ? digest === sourceRef.digest && !img.imageId?.imageTag : img.imageId?.imageTag === sourceRef.tag;
        if (isSource && !source) {
          const actual = `sha256:${createHash('sha256').update(img.imageManifest, 'utf8').digest('hex')}`;
          if (actual !== digest) throw new ShiplineError(`ECR returned a manifest for ${repo.repository} whose bytes hash to ${actual}, not ${digest}`);
          source = { manifest: img.imageManifest, mediaType: img.imageManifestMediaType ?? mediaTypeOf(img.imageManifest), digest };
        }
        if (img.imageId?.imageTag && tags.includes(img.imageId.imageTag)) held.set(img.imageId.imageTag, digest);
      }
      return { source, tags: held };
    },
    async put(image, tag) {
      session.requests++;
      try {
        const input = { ...ids, imageManifest: image.manifest, imageManifestMediaType: image.mediaType, imageTag: tag, imageDigest: image.digest };
        await call('PutImage', (abortSignal) => client.send(new sdk.PutImageCommand(input), { abortSignal }));
        return 'tagged';
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === 'ImageAlreadyExistsException') return 'unchanged';
        if (name === 'ImageTagAlreadyExistsException') {
          throw new ShiplineError(`${where} is immutable: tag '${tag}' already exists and ECR will not move it to ${image.digest}`, {
            hint: 'pick a new tag, or make the repository MUTABLE (put-image-tag-mutability) if moving tags is intended',
          });
        }
        throw explain(e, where, 'PutImage');
      }
    },
  };
  return session;
}

function mediaTypeOf(manifest: string): string {
  try {
    return String((JSON.parse(manifest) as { mediaType?: string }).mediaType ?? MEDIA_TYPES.dockerManifest);
  } catch {
    return MEDIA_TYPES.dockerManifest;
  }
}

function explain(e: unknown, where: string, op: string): ShiplineError {
  if (e instanceof ShiplineError) return e;
  const name = (e as { name?: string }).name ?? 'Error';
  const message = (e as { message?: string }).message ?? String(e);
  const hint =
    name === 'RepositoryNotFoundException'
      ? 'create the repository first, or check the source reference'
      : /AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|CredentialsProviderError/.test(name)
        ? 'check the AWS credentials in the job (assume-role step) and that the role may ecr:BatchGetImage and ecr:PutImage on this repository'
        : undefined;
  return new ShiplineError(`ECR ${op} on ${where} failed: ${name}: ${message}`, hint === undefined ? { cause: e } : { hint, cause: e });
}
