// Built into dist/untag/lazy.js (scripts/build.mjs): the AWS SDK part, loaded only for
// method ecr-api, so the registry path never parses the SDK. ECR's BatchDeleteImage by
// imageTag removes the tag only: the image stays while another tag holds it (and goes
// with its last tag). The client is set up as src/lib/registry/ecr-api.ts does (explicit
// region and endpoint, the SDK's retries off, shipline's classified ones on); it belongs
// with the SigV4 client that replaces the SDK there.
import { ShiplineError } from '../../lib/util/errors';
import type { Env } from '../../lib/util/env';
import { callWithRetry, clientConfig, endpointFor, regionFrom, type CallPolicy } from '../../lib/aws/client';
import { awsFailure, classifyAwsError } from '../../lib/aws/errors';
import { parseEcrHost } from '../../lib/registry/ecr-host';

export interface EcrUntagSession {
  /** What each tag holds now (BatchGetImage; absent tags are not in the map). */
  look(tags: string[]): Promise<Map<string, string>>;
  /** BatchDeleteImage by tag: the digest each removed tag held, and the tags ECR did not find. */
  remove(tags: string[]): Promise<{ deleted: Map<string, string>; missing: string[] }>;
  requests: number;
}

const MAX_IDS = 100; // BatchDeleteImage / BatchGetImage take at most 100 image ids

/**
 * A session on one ECR repository. Failures are ShiplineErrors with data.operation and
 * data.code (an AWS error, or a per-image failure ECR reported), 'failed' with
 * data.missing 'region' when none is known.
 */
export async function ecrUntagSession(
  repo: { registry: string; repository: string },
  env: Env,
  log: { warn(m: string): void; debug(m: string): void },
  opts: { policy?: CallPolicy } = {},
): Promise<EcrUntagSession> {
  const policy = opts.policy ?? { maxAttempts: 4, deadlineMs: 60_000 };
  const host = parseEcrHost(repo.registry);
  const region = regionFrom(host?.region, env);
  if (!region) {
    throw new ShiplineError(`the ECR API needs an AWS region for ${repo.registry}`, {
      data: { registry: repo.registry, missing: 'region' },
    });
  }
  const sdk = await import('@aws-sdk/client-ecr');
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  const client = new sdk.ECRClient({
    ...clientConfig({ region, endpoint: endpointFor(env, 'ECR'), step: 'untag', attemptTimeoutMs: 10_000 }),
    ...(credentials ? { credentials } : {}),
  });
  const where = `ECR repository ${repo.repository} (${repo.registry}, region ${region})`;
  const extra = (operation: string) => ({ operation, registry: repo.registry, repository: repo.repository, region });
  const call = <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    callWithRetry(
      `ECR ${operation} on ${repo.repository}`,
      (_a, signal) => fn(signal),
      policy,
      (e) => classifyAwsError(e),
      log,
      'the ECR API kept failing or throttling; re-run the job later',
    ).then(
      (r) => r.value,
      (e: unknown) => {
        throw awsFailure(e, `ECR ${operation} on ${where}`, extra(operation));
      },
    );
  const ids = { repositoryName: repo.repository, ...(host ? { registryId: host.account } : {}) };
  /** A per-image failure other than "not there" fails the step, naming ECR's code. */
  const failed = (
    operation: string,
    f: {
      imageId?: { imageTag?: string | undefined } | undefined;
      failureCode?: string | undefined;
      failureReason?: string | undefined;
    },
  ) =>
    new ShiplineError(
      `ECR ${operation} on ${where}: tag '${f.imageId?.imageTag ?? '?'}': ${f.failureCode ?? 'failure'}${f.failureReason ? `: ${f.failureReason}` : ''}`,
      { kind: 'failed', data: { ...extra(operation), code: f.failureCode, tag: f.imageId?.imageTag } },
    );
  const chunks = (tags: string[]) =>
    Array.from({ length: Math.ceil(tags.length / MAX_IDS) }, (_, i) => tags.slice(i * MAX_IDS, (i + 1) * MAX_IDS));

  const session: EcrUntagSession = {
    requests: 0,
    async look(tags) {
      const held = new Map<string, string>();
      for (const part of chunks(tags)) {
        session.requests++;
        const input = { ...ids, imageIds: part.map((imageTag) => ({ imageTag })) };
        const out = await call('BatchGetImage', (abortSignal) =>
          client.send(new sdk.BatchGetImageCommand(input), { abortSignal }),
        );
        for (const img of out.images ?? [])
          if (img.imageId?.imageTag && img.imageId.imageDigest) held.set(img.imageId.imageTag, img.imageId.imageDigest);
        for (const f of out.failures ?? []) if (f.failureCode !== 'ImageNotFound') throw failed('BatchGetImage', f);
      }
      return held;
    },
    async remove(tags) {
      const deleted = new Map<string, string>();
      const missing: string[] = [];
      for (const part of chunks(tags)) {
        session.requests++;
        const input = { ...ids, imageIds: part.map((imageTag) => ({ imageTag })) };
        const out = await call('BatchDeleteImage', (abortSignal) =>
          client.send(new sdk.BatchDeleteImageCommand(input), { abortSignal }),
        );
        for (const id of out.imageIds ?? []) if (id.imageTag) deleted.set(id.imageTag, id.imageDigest ?? '');
        for (const f of out.failures ?? []) {
          if (f.failureCode === 'ImageNotFound' && f.imageId?.imageTag) missing.push(f.imageId.imageTag);
          else throw failed('BatchDeleteImage', f);
        }
      }
      return { deleted, missing };
    },
  };
  return session;
}
