// assume-role's inputs as one plan before any call: the region, the credential source by one
// documented precedence, the session name and tags, and every input error (exit 2).
// Source precedence:
//   role-chaining > web-identity-token > web-identity-token-file > web-identity-token-variable
//   > static keys > GitHub OIDC (when the job may request a token) > ambient (SDK chain).
// Giving two explicit sources at once is an input error, not a silent pick.
import { accountFromArn, ciTags, defaultSessionName, parseTags, sanitizeSessionName } from '../../lib/aws/arn';
import type { CallPolicy } from '../../lib/aws/client';
import type { AssumeParams } from '../../lib/aws/sts-common';
import { githubOidcAvailable } from '../../lib/aws/web-identity';
import type { CiContext } from '../../lib/ci/context';
import type { Env } from '../../lib/util/env';
import { InputError } from '../../runtime/inputs';
import { callPolicy, checkedEndpoint, checkedRegion, checkEnvCredentials } from '../shared/aws';
import type { Inputs } from './index';

export const tagLine = (v: string) =>
  /^[\p{L}\p{Z}\p{N}_.:/+\-@]{1,128}=/u.test(v)
    ? undefined
    : `'${v}' is not key=value with a key of letters, digits, spaces or _.:/+-@`;
export const tagKey = (v: string) =>
  /^[\p{L}\p{Z}\p{N}_.:/+\-@=]{1,128}$/u.test(v) ? undefined : `'${v}' is not a valid tag key`;

export type SourcePlan =
  | { kind: 'web-identity'; from: 'input' | 'file' | 'variable' | 'github' }
  | { kind: 'static' }
  | { kind: 'ambient'; chained: boolean };

export interface AssumePlan {
  region: string;
  /** AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, else the regional endpoint. */
  endpoint: string | undefined;
  source: SourcePlan;
  /** The `audience` input, when the token is requested from GitHub with it. */
  audience: string | undefined;
  params: AssumeParams;
  policy: CallPolicy;
  /** Said before the call: inputs that have no effect here. */
  warnings: string[];
}

export function planAssume(i: Inputs, env: Env, ci: CiContext): AssumePlan {
  const region = checkedRegion(i.region, env);
  if (!region)
    throw new InputError(
      'region',
      'is required: no input and no AWS_REGION / AWS_DEFAULT_REGION in the job',
      'give the region of STS, e.g. region: eu-west-1',
    );
  const roleAccount = accountFromArn(i.roleArn)!;
  if (i.allowedAccountIds.length && !i.allowedAccountIds.includes(roleAccount)) {
    throw new InputError(
      'role-arn',
      `is in account ${roleAccount}, which is not in allowed-account-ids (${i.allowedAccountIds.join(', ')})`,
      'use a role of an allowed account or extend allowed-account-ids',
    );
  }
  if (i.roleChaining && i.durationSeconds > 3600) {
    throw new InputError(
      'duration-seconds',
      `${i.durationSeconds} s is more than the 1 h STS allows for chained roles`,
      'use at most 3600 with role-chaining',
    );
  }
  const source = chooseSource(i, env);
  if (source.kind === 'ambient') checkEnvCredentials(env);
  if (i.exportTokenFile && source.kind !== 'web-identity') {
    throw new InputError(
      'export-token-file',
      'needs a web identity token source',
      'use it with GitHub OIDC or a web-identity-token input, file or variable',
    );
  }
  const warnings: string[] = [];
  let tags = parseTags(i.sessionTags);
  if (source.kind === 'web-identity') {
    if (tags.length)
      warnings.push(
        'session-tags are ignored for web identity: AssumeRoleWithWebIdentity takes session tags from the token',
      );
    tags = [];
  } else if (!i.skipSessionTags && !i.roleChaining) {
    const explicit = new Set(tags.map((t) => t.Key));
    tags = [...tags, ...ciTags(ci).filter((t) => !explicit.has(t.Key))];
  }
  return {
    region,
    endpoint: checkedEndpoint(env, 'STS'),
    source,
    audience: source.kind === 'web-identity' && source.from === 'github' ? i.audience : undefined,
    params: {
      roleArn: i.roleArn,
      sessionName: i.sessionName ? sanitizeSessionName(i.sessionName) : defaultSessionName(ci.provider, ci.jobId),
      durationSeconds: i.durationSeconds,
      ...(i.externalId ? { externalId: i.externalId } : {}),
      ...(tags.length ? { tags } : {}),
      ...(i.transitiveTagKeys.length ? { transitiveTagKeys: i.transitiveTagKeys } : {}),
    },
    policy: callPolicy(i),
    warnings,
  };
}

type SourceInputs = Pick<Inputs, 'roleChaining'> &
  Partial<
    Pick<
      Inputs,
      'webIdentityToken' | 'webIdentityTokenFile' | 'webIdentityTokenVariable' | 'awsAccessKeyId' | 'awsSecretAccessKey'
    >
  >;

/** Which credentials STS is called with, by the precedence above. */
export function chooseSource(inputs: SourceInputs, env: Env): SourcePlan {
  const given: [string, SourcePlan][] = [];
  if (inputs.webIdentityToken) given.push(['web-identity-token', { kind: 'web-identity', from: 'input' }]);
  if (inputs.webIdentityTokenFile) given.push(['web-identity-token-file', { kind: 'web-identity', from: 'file' }]);
  if (inputs.webIdentityTokenVariable)
    given.push(['web-identity-token-variable', { kind: 'web-identity', from: 'variable' }]);
  if (inputs.awsAccessKeyId || inputs.awsSecretAccessKey) {
    if (!inputs.awsAccessKeyId || !inputs.awsSecretAccessKey) {
      throw new InputError(
        inputs.awsAccessKeyId ? 'aws-secret-access-key' : 'aws-access-key-id',
        'is required with the other static key',
        'give both aws-access-key-id and aws-secret-access-key',
      );
    }
    given.push(['aws-access-key-id', { kind: 'static' }]);
  }
  if (inputs.roleChaining) {
    if (given.length)
      throw new InputError(
        'role-chaining',
        `cannot be combined with ${given.map(([n]) => n).join(', ')}`,
        'role chaining uses the credentials already in the job; drop the other credential inputs',
      );
    return { kind: 'ambient', chained: true };
  }
  if (given.length > 1) {
    throw new InputError(
      given[1]![0],
      `conflicts with ${given[0]![0]}: give one credential source`,
      'pick one of web-identity-token, web-identity-token-file, web-identity-token-variable or the static keys',
    );
  }
  if (given[0]) return given[0][1];
  if (githubOidcAvailable(env)) return { kind: 'web-identity', from: 'github' };
  return { kind: 'ambient', chained: false };
}

/** The source in words, for the `assuming … with …` line. */
export function describeSource(
  source: SourcePlan,
  i: Pick<Inputs, 'audience' | 'webIdentityTokenFile' | 'webIdentityTokenVariable'>,
): string {
  switch (source.kind) {
    case 'web-identity':
      return source.from === 'github'
        ? `GitHub OIDC token (audience ${i.audience})`
        : source.from === 'file'
          ? `web identity token file ${i.webIdentityTokenFile}`
          : source.from === 'variable'
            ? `web identity token in $${i.webIdentityTokenVariable}`
            : 'web identity token from the input';
    case 'static':
      return 'static access keys from the inputs';
    default:
      return source.chained
        ? 'the credentials already in the job (role chaining)'
        : 'the AWS SDK default credential chain (env, profile, container/instance metadata)';
  }
}
