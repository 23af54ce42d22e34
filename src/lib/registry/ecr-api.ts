// ECR's own retag: BatchGetImage (source and targets in one call) + PutImage per tag
// that needs it, with shipline's classified retries (src/lib/aws/client.ts): signed JSON 1.1
// requests (src/lib/aws/signed.ts), no SDK client; the job's credentials from
// src/lib/aws/credentials.ts. Loaded only from a step's lazy bundle.
import { createHash } from 'node:crypto';
import { ShiplineError } from '../util/errors';
import { registerSecret } from '../util/redact';
import type { Env } from '../util/env';
import { callWithRetry, endpointFor, regionFrom, type CallPolicy } from '../aws/client';
import { jobCredentials, type AwsCredentials } from '../aws/credentials';
import { ecrEndpoint } from '../aws/ecr';
import { awsFailure, classifyAwsError } from '../aws/errors';
import { awsJsonCall } from '../aws/signed';
import { MEDIA_TYPES, mediaTypeOf } from './manifest';
import { parseEcrHost } from './ecr-host';

export interface EcrImage {
  manifest: string;
  mediaType: string;
  digest: string;
}

interface BatchGetImageOutput {
  images?: {
    imageId?: { imageDigest?: string; imageTag?: string };
    imageManifest?: string;
    imageManifestMediaType?: string;
  }[];
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
  const endpoint = endpointFor(env, 'ECR') ?? ecrEndpoint(region);
  // Resolved at the first call (inside its failure wording), once per session; secrets a
  // token file yields are registered for redaction like every other.
  let credentials: Promise<AwsCredentials> | undefined;
  const creds = () =>
    (credentials ??= jobCredentials(env, { region, policy, log, onSecret: registerSecret }).then(
      (c) => c.credentials,
      (e: unknown) => {
        credentials = undefined;
        throw e;
      },
    ));
  const send = <T>(operation: string, input: unknown, signal: AbortSignal, c: AwsCredentials) =>
    awsJsonCall<T>({
      endpoint,
      service: 'ecr',
      region,
      target: `AmazonEC2ContainerRegistry_V20150921.${operation}`,
      input,
      credentials: c,
      agent: opts.agent,
      signal,
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
      const out = await creds()
        .then((c) => call('BatchGetImage', (signal) => send<BatchGetImageOutput>('BatchGetImage', input, signal, c)))
        .catch((e: unknown) => {
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
        const c = await creds();
        await call('PutImage', (signal) => send('PutImage', input, signal, c));
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
