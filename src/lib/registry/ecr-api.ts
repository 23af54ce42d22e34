// ECR's own retag: BatchGetImage (source and targets in one call) + PutImage per tag
// that needs it, with shipline's classified retries (src/lib/aws/client.ts). Loaded only
// from a step's lazy bundle, so the SDK is parsed only when this method runs.
import { createHash } from 'node:crypto';
import { ShiplineError } from '../util/errors';
import type { Env } from '../util/env';
import { callWithRetry, clientConfig, endpointFor, regionFrom, type CallPolicy } from '../aws/client';
import { awsFailure, classifyAwsError } from '../aws/errors';
import { MEDIA_TYPES, mediaTypeOf } from './manifest';
import { parseEcrHost } from './ecr-host';

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
  get(
    sourceRef: { tag?: string | undefined; digest?: string | undefined },
    tags: string[],
  ): Promise<{ source: EcrImage | undefined; tags: Map<string, string> }>;
  /** 'tagged', or 'unchanged' when ECR says the tag already holds this digest. */
  put(image: EcrImage, tag: string): Promise<'tagged' | 'unchanged'>;
  requests: number;
}

export interface EcrSessionOptions {
  /** Named in the User-Agent (`shipline/<agent>`). */
  agent: string;
  policy?: CallPolicy;
}

/**
 * A session on one ECR repository. Failures are ShiplineErrors: kind from the AWS code
 * (data.code, data.operation), 'conflict' with data.immutable for a tag an immutable
 * repository will not move, 'failed' with data.missing 'region' when none is known.
 */
export async function ecrSession(
  repo: EcrRepo,
  env: Env,
  log: { warn(m: string): void; debug(m: string): void },
  opts: EcrSessionOptions,
): Promise<EcrSession> {
  const policy = opts.policy ?? { maxAttempts: 4, deadlineMs: 60_000 };
  const host = parseEcrHost(repo.registry);
  const region = regionFrom(host?.region, env);
  if (!region) {
    throw new ShiplineError(`the ECR API needs an AWS region for ${repo.registry}`, {
      hint: 'set AWS_REGION, or use an ECR host name <account>.dkr.ecr.<region>.amazonaws.com',
      data: { registry: repo.registry, missing: 'region' },
    });
  }
  const sdk = await import('@aws-sdk/client-ecr');
  const endpoint = endpointFor(env, 'ECR');
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  const client = new sdk.ECRClient({
    ...clientConfig({ region, endpoint, step: opts.agent, attemptTimeoutMs: 10_000 }),
    ...(credentials ? { credentials } : {}),
  });
  const call = <T>(what: string, fn: (signal: AbortSignal) => Promise<T>) =>
    callWithRetry(
      `ECR ${what} on ${repo.repository}`,
      (_a, signal) => fn(signal),
      policy,
      (e) => classifyAwsError(e),
      log,
      'the ECR API kept failing or throttling; re-run the job later',
    ).then((r) => r.value);
  const ids = { repositoryName: repo.repository, ...(host ? { registryId: host.account } : {}) };
  const where = `ECR repository ${repo.repository} (${repo.registry}, region ${region})`;
  const failure = (e: unknown, operation: string) =>
    awsFailure(e, `ECR ${operation} on ${where}`, {
      operation,
      registry: repo.registry,
      repository: repo.repository,
      region,
    });
  const session: EcrSession = {
    requests: 0,
    async get(sourceRef, tags) {
      const sourceId = sourceRef.digest ? { imageDigest: sourceRef.digest } : { imageTag: sourceRef.tag! };
      session.requests++;
      const input = {
        ...ids,
        imageIds: [sourceId, ...tags.map((t) => ({ imageTag: t }))],
        acceptedMediaTypes: Object.values(MEDIA_TYPES),
      };
      const out = await call('BatchGetImage', (abortSignal) =>
        client.send(new sdk.BatchGetImageCommand(input), { abortSignal }),
      ).catch((e: unknown) => {
        throw failure(e, 'BatchGetImage');
      });
      let source: EcrImage | undefined;
      const held = new Map<string, string>();
      for (const img of out.images ?? []) {
        const digest = img.imageId?.imageDigest;
        if (!digest || !img.imageManifest) continue;
        const isSource = sourceRef.digest
          ? digest === sourceRef.digest && !img.imageId?.imageTag
          : img.imageId?.imageTag === sourceRef.tag;
        if (isSource && !source) {
          const actual = `sha256:${createHash('sha256').update(img.imageManifest, 'utf8').digest('hex')}`;
          if (actual !== digest) {
            throw new ShiplineError(
              `ECR returned a manifest for ${repo.repository} whose bytes hash to ${actual}, not ${digest}`,
              { kind: 'invalid', data: { repository: repo.repository, expected: digest, actual } },
            );
          }
          source = {
            manifest: img.imageManifest,
            mediaType: img.imageManifestMediaType ?? mediaTypeOf(img.imageManifest),
            digest,
          };
        }
        if (img.imageId?.imageTag && tags.includes(img.imageId.imageTag)) held.set(img.imageId.imageTag, digest);
      }
      return { source, tags: held };
    },
    async put(image, tag) {
      session.requests++;
      try {
        const input = {
          ...ids,
          imageManifest: image.manifest,
          imageManifestMediaType: image.mediaType,
          imageTag: tag,
          imageDigest: image.digest,
        };
        await call('PutImage', (abortSignal) => client.send(new sdk.PutImageCommand(input), { abortSignal }));
        return 'tagged';
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === 'ImageAlreadyExistsException') return 'unchanged';
        if (name === 'ImageTagAlreadyExistsException') {
          throw new ShiplineError(
            `${where} is immutable: tag '${tag}' already exists and ECR will not move it to ${image.digest}`,
            {
              kind: 'conflict',
              hint: 'pick a new tag, or make the repository MUTABLE (put-image-tag-mutability) if moving tags is intended',
              cause: e,
              data: { repository: repo.repository, tag, digest: image.digest, immutable: true },
            },
          );
        }
        throw failure(e, 'PutImage');
      }
    },
  };
  return session;
}
