// The credentials a job already holds, found the way the AWS SDK's default chain finds them,
// with the two common CI sources first and without loading the SDK:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), unless AWS_PROFILE is
//      set (the SDK then skips the environment too);
//   2. AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (EKS IRSA, or a token file an earlier
//      step exported): one unsigned AssumeRoleWithWebIdentity, when no shared config or
//      credentials file could hold a profile the SDK would try before it;
//   3. otherwise the SDK's provider chain (profiles, SSO, process, container and instance
//      metadata), loaded from its own bundle only now (sdk-chain.ts).
import { existsSync, readFileSync } from 'node:fs';
import type { Env } from '../util/env';
import { errorMessage, ShiplineError, withHint } from '../util/errors';
import type { CallLog, CallPolicy } from './client';
import { endpointFor } from './client';
import { awsFailure } from './errors';
import { assumeRoleWithWebIdentity } from './sts-query';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const TOKEN_FILE_HINT =
  "the job's AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN did not yield credentials: check the token and the trust policy of AWS_ROLE_ARN, or unset both";

export type CredentialSource = 'environment' | 'token-file' | 'sdk-chain';

export interface JobCredentialOptions {
  /** Region of the STS call a token file needs (the step's region). */
  region: string;
  policy: CallPolicy;
  log: CallLog;
  onSecret: (v: string) => void;
}

export interface JobCredentials {
  credentials: AwsCredentials;
  source: CredentialSource;
}

/** Key pair (and session token) from the environment, as the SDK's fromEnv reads them. */
export function environmentCredentials(env: Env): AwsCredentials | undefined {
  if (env.AWS_PROFILE || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/** A shared config or credentials file exists: the SDK would look for a profile there before a token file. */
export function sharedFilesExist(env: Env): boolean {
  const home = env.HOME || (require('node:os') as typeof import('node:os')).homedir();
  const files = [
    env.AWS_SHARED_CREDENTIALS_FILE || `${home}/.aws/credentials`,
    env.AWS_CONFIG_FILE || `${home}/.aws/config`,
  ];
  return files.some((f) => existsSync(f));
}

/** Which source `jobCredentials` takes, decided from the environment alone (no call, no import). */
export function credentialSource(env: Env): CredentialSource {
  if (environmentCredentials(env)) return 'environment';
  if (!env.AWS_PROFILE && env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN && !sharedFilesExist(env))
    return 'token-file';
  return 'sdk-chain';
}

/** The job's credentials; registers every secret before returning. Failures are ShiplineErrors or the SDK's own. */
export async function jobCredentials(env: Env, opts: JobCredentialOptions): Promise<JobCredentials> {
  const source = credentialSource(env);
  if (source === 'environment') {
    const credentials = environmentCredentials(env)!;
    registerSecrets(credentials, opts.onSecret);
    return { credentials, source };
  }
  if (source === 'token-file') return { credentials: await fromTokenFile(env, opts), source };
  // Required on use (dist/<step>/aws-sdk.js, a plain require: no ESM loader for 400 KB).
  const { sdkChainCredentials } = require('./sdk-chain') as typeof import('./sdk-chain');
  const credentials = await sdkChainCredentials(opts.region);
  registerSecrets(credentials, opts.onSecret);
  return { credentials, source };
}

function registerSecrets(c: AwsCredentials, onSecret: (v: string) => void): void {
  onSecret(c.secretAccessKey);
  if (c.sessionToken) onSecret(c.sessionToken);
}

/** The SDK's fromTokenFile: the file is read as the SDK reads it (symlinks followed: EKS mounts it so). */
async function fromTokenFile(env: Env, opts: JobCredentialOptions): Promise<AwsCredentials> {
  const file = env.AWS_WEB_IDENTITY_TOKEN_FILE!;
  const roleArn = env.AWS_ROLE_ARN!;
  const read = () => {
    let token: string;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ShiplineError(`cannot read AWS_WEB_IDENTITY_TOKEN_FILE ${file}: ${errorMessage(err)}`, {
        kind: 'auth',
        data: { file, credentials: 'token-file' },
        hint: 'check what writes the token file, or unset AWS_WEB_IDENTITY_TOKEN_FILE',
      });
    }
    if (!token)
      throw new ShiplineError(`AWS_WEB_IDENTITY_TOKEN_FILE ${file} is empty`, {
        kind: 'auth',
        data: { file, credentials: 'token-file' },
        hint: 'check what writes the token file',
      });
    opts.onSecret(token);
    return token;
  };
  read(); // an unusable file fails before any call
  const role = await assumeRoleWithWebIdentity(
    { roleArn, sessionName: env.AWS_ROLE_SESSION_NAME || `shipline-${Date.now()}`, durationSeconds: 3600 },
    {
      kind: 'web-identity',
      origin: `AWS_WEB_IDENTITY_TOKEN_FILE ${file}`,
      refreshable: true,
      token: async () => read(),
    },
    {
      region: opts.region,
      endpoint: endpointFor(env, 'STS'),
      policy: opts.policy,
      log: opts.log,
      onSecret: opts.onSecret,
    },
  ).catch((err: unknown) => {
    // Not the step's own call: STS's code and message go to data.tokenFile (data.code is the
    // step's call), so the step keeps this hint, which names the variables to fix.
    const failure = awsFailure(err, `STS AssumeRoleWithWebIdentity for ${roleArn}`);
    const { code, message, ...rest } = failure.data;
    const marked = new ShiplineError(failure.message, {
      kind: failure.kind,
      cause: err,
      ...(failure.hint === undefined ? {} : { hint: failure.hint }),
      data: { ...rest, credentials: 'token-file', tokenFile: { code, message, file, roleArn } },
    });
    throw marked.kind === 'transient' ? marked : withHint(marked, TOKEN_FILE_HINT);
  });
  return { accessKeyId: role.accessKeyId, secretAccessKey: role.secretAccessKey, sessionToken: role.sessionToken };
}
