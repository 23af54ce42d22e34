// AssumeRole with static, ambient or chained credentials through the AWS SDK (SigV4, the
// default credential chain). The SDK loads here, from dist/assume-role/lazy.js, never at a
// step's start. The web identity path needs no signature and uses sts-query.ts instead.
import { callWithRetry, clientConfig } from './client';
import { awsFailure, classifyAwsError } from './errors';
import { assumedRole, type AssumeParams, type AssumedRole, type StsCallOptions, type StsSource } from './sts-common';

export async function assumeRole(
  params: AssumeParams,
  source: Exclude<StsSource, { kind: 'web-identity' }>,
  opts: StsCallOptions,
): Promise<AssumedRole> {
  const sts = await import('@aws-sdk/client-sts');
  const attemptTimeoutMs = opts.policy.attemptTimeoutMs ?? 10_000;
  const base = clientConfig({ region: opts.region, endpoint: opts.endpoint, step: 'assume-role', attemptTimeoutMs });
  let credentials: unknown;
  if (source.kind === 'static') {
    credentials = {
      accessKeyId: source.accessKeyId,
      secretAccessKey: source.secretAccessKey,
      ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}),
    };
  } else {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    credentials = fromNodeProviderChain();
  }
  const client = new sts.STSClient({ ...base, credentials: credentials as never });
  const what = `STS AssumeRole for ${params.roleArn}`;
  try {
    const { value: out, attempts } = await callWithRetry(
      what,
      (_attempt, signal) =>
        client.send(
          new sts.AssumeRoleCommand({
            RoleArn: params.roleArn,
            RoleSessionName: params.sessionName,
            DurationSeconds: params.durationSeconds,
            ...(params.externalId ? { ExternalId: params.externalId } : {}),
            ...(params.tags?.length ? { Tags: params.tags } : {}),
            ...(params.transitiveTagKeys?.length ? { TransitiveTagKeys: params.transitiveTagKeys } : {}),
          }),
          { abortSignal: signal },
        ),
      opts.policy,
      (err) => classifyAwsError(err),
      opts.log,
    );
    return assumedRole(out.Credentials, out.AssumedRoleUser?.Arn, what, params, attempts, opts.onSecret);
  } catch (err) {
    throw awsFailure(err, what, {
      roleArn: params.roleArn,
      endpoint: opts.endpoint ?? `sts.${opts.region}.amazonaws.com`,
    });
  } finally {
    client.destroy();
  }
}
