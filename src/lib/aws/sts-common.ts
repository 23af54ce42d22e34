// What both STS clients share: the credential source, the request, the answer, the options,
// and turning an STS failure into what failed, why and what to change.
import { ShiplineError, errorMessage } from '../util/errors';
import { accountFromArn, type Tag } from './arn';
import { decodeClaims, trustHint, trustProblem } from './claims';
import type { CallLog, CallPolicy } from './client';
import { awsErrorCode } from './errors';

export type StsSource =
  | {
      kind: 'web-identity';
      /** Where the token comes from, for logs: 'GitHub OIDC', 'variable AWS_ID_TOKEN', … */
      origin: string;
      /** A fresh token can be had per attempt (GitHub); otherwise the same token is reused. */
      refreshable: boolean;
      token: (signal: AbortSignal) => Promise<string>;
    }
  | { kind: 'static'; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: 'ambient'; chained: boolean };

export interface AssumeParams {
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  externalId?: string;
  tags?: Tag[];
  transitiveTagKeys?: string[];
}

export interface AssumedRole {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date | undefined;
  assumedRoleArn: string;
  accountId: string;
  /** STS attempts made (1 unless throttled/failed transiently). */
  attempts: number;
  /** The web identity token that succeeded (for the token-file export). */
  token?: string;
}

export interface StsCallOptions {
  region: string;
  endpoint: string | undefined;
  policy: CallPolicy;
  log: CallLog;
  /** Register a secret before anything could print it. */
  onSecret: (v: string) => void;
  /** The `audience` input when the token was requested with it (for hints). */
  audience?: string;
}

/** The answer of either call as an AssumedRole; registers the secrets before returning. */
export function assumedRole(
  c: { AccessKeyId?: string | undefined; SecretAccessKey?: string | undefined; SessionToken?: string | undefined; Expiration?: Date | undefined } | undefined,
  arn: string | undefined,
  what: string,
  params: AssumeParams,
  attempts: number,
  onSecret: (v: string) => void,
  token?: string,
): AssumedRole {
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new ShiplineError(`${what} returned no credentials`, { hint: 'this is unexpected from STS; re-run the job' });
  onSecret(c.AccessKeyId);
  onSecret(c.SecretAccessKey);
  onSecret(c.SessionToken);
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
    assumedRoleArn: arn ?? '',
    accountId: accountFromArn(arn ?? '') ?? accountFromArn(params.roleArn) ?? '',
    attempts,
    ...(token ? { token } : {}),
  };
}

/** An STS failure in words: what failed, why, and what to change. */
export function explain(err: unknown, what: string, params: AssumeParams, source: StsSource, token: string | undefined, audience: string | undefined): unknown {
  if (err instanceof ShiplineError) return err;
  const code = awsErrorCode(err);
  const message = errorMessage(err);
  const head = `${what} failed: ${code}: ${message}`;
  if (code === 'CredentialsProviderError') {
    return new ShiplineError(`${what}: no AWS credentials to call STS with (${message})`, {
      hint:
        source.kind === 'ambient' && source.chained
          ? 'role-chaining uses the credentials already in the job: run assume-role (or set AWS_ACCESS_KEY_ID/…) before this step'
          : 'use a web identity token (GitHub: permissions: id-token: write; GitLab: id_tokens + web-identity-token-variable), static keys, or run where the SDK finds credentials',
      cause: err,
    });
  }
  if (source.kind === 'web-identity' && ['AccessDenied', 'InvalidIdentityToken', 'ExpiredTokenException', 'IDPRejectedClaim'].includes(code)) {
    return new ShiplineError(head, { hint: trustHint(token ? decodeClaims(token) : undefined, params.roleArn, trustProblem(code, message), audience), cause: err });
  }
  if (code === 'AccessDenied') {
    const hints = [`the trust policy of ${params.roleArn} must allow the caller (see the message) to sts:AssumeRole`];
    if (params.externalId !== undefined) hints.push('and require exactly this external-id');
    if (params.tags?.length) hints.push('and sts:TagSession (session tags were sent: set skip-session-tags: true if the role cannot allow it)');
    return new ShiplineError(head, { hint: hints.join(' '), cause: err });
  }
  if (code === 'ValidationError' && /DurationSeconds|duration/i.test(message)) {
    return new ShiplineError(head, { hint: 'lower duration-seconds to the role\'s MaxSessionDuration (1 h for chained roles), or raise that setting on the role', cause: err });
  }
  if (code === 'RegionDisabledException') {
    return new ShiplineError(head, { hint: 'activate STS in this region (IAM > Account settings) or use another region', cause: err });
  }
  return new ShiplineError(head, { hint: 'see the STS message above; check role-arn, region and the credentials the step used', cause: err });
}
