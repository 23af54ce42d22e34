// AssumeRole with static, ambient or chained credentials: one form POST of STS's Query
// protocol (as sts-query.ts) signed with SigV4 (signed.ts), without the SDK client. Ambient
// credentials come from the environment or a token file first and from the SDK's chain only
// when neither holds any (credentials.ts). Loaded from dist/assume-role/lazy.js.
import type { Env } from '../util/env';
import { callWithRetry } from './client';
import { jobCredentials, type AwsCredentials } from './credentials';
import { awsFailure, classifyAwsError } from './errors';
import { signedSend } from './signed';
import type { AssumeParams, AssumedRole, StsCallOptions, StsSource } from './sts-common';
import { roleFromAnswer, stsAnswer, stsEndpoint } from './sts-query';

/** The AssumeRole form: tags and transitive keys as STS's `member.N` lists. */
export function assumeRoleForm(params: AssumeParams): URLSearchParams {
  const form = new URLSearchParams({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: params.roleArn,
    RoleSessionName: params.sessionName,
    DurationSeconds: String(params.durationSeconds),
  });
  if (params.externalId) form.set('ExternalId', params.externalId);
  (params.tags ?? []).forEach((t, i) => {
    form.set(`Tags.member.${i + 1}.Key`, t.Key);
    form.set(`Tags.member.${i + 1}.Value`, t.Value);
  });
  (params.transitiveTagKeys ?? []).forEach((k, i) => form.set(`TransitiveTagKeys.member.${i + 1}`, k));
  return form;
}

export async function assumeRole(
  params: AssumeParams,
  source: Exclude<StsSource, { kind: 'web-identity' }>,
  opts: StsCallOptions,
  env: Env,
): Promise<AssumedRole> {
  const endpoint = (opts.endpoint ?? stsEndpoint(opts.region)).replace(/\/*$/, '/');
  const what = `STS AssumeRole for ${params.roleArn}`;
  try {
    let credentials: AwsCredentials;
    if (source.kind === 'static') {
      credentials = {
        accessKeyId: source.accessKeyId,
        secretAccessKey: source.secretAccessKey,
        ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}),
      };
    } else {
      ({ credentials } = await jobCredentials(env, {
        region: opts.region,
        policy: opts.policy,
        log: opts.log,
        onSecret: opts.onSecret,
      }));
    }
    const body = assumeRoleForm(params).toString();
    const { value: xml, attempts } = await callWithRetry(
      what,
      async (_attempt, signal) => {
        const a = await signedSend({
          endpoint,
          service: 'sts',
          region: opts.region,
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'user-agent': 'shipline/assume-role',
            accept: 'text/xml',
          },
          body,
          credentials,
          signal,
        });
        return stsAnswer(a);
      },
      opts.policy,
      (err) => classifyAwsError(err),
      opts.log,
    );
    return roleFromAnswer(xml, what, params, attempts, opts.onSecret);
  } catch (err) {
    throw awsFailure(err, what, { roleArn: params.roleArn, endpoint: endpoint.replace(/\/$/, '') });
  }
}
