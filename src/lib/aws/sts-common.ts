// What both STS clients share: the credential source, the request, the answer and the options.
import { ShiplineError } from '../util/errors';
import { accountFromArn, type Tag } from './arn';
import type { CallLog, CallPolicy } from './client';

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
}

/** The answer of either call as an AssumedRole; registers the secrets before returning. */
export function assumedRole(
  c:
    | {
        AccessKeyId?: string | undefined;
        SecretAccessKey?: string | undefined;
        SessionToken?: string | undefined;
        Expiration?: Date | undefined;
      }
    | undefined,
  arn: string | undefined,
  what: string,
  params: AssumeParams,
  attempts: number,
  onSecret: (v: string) => void,
  token?: string,
): AssumedRole {
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new ShiplineError(`${what} returned no credentials`, {
      kind: 'invalid',
      hint: 'this is unexpected from STS; re-run the job',
    });
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
