// ECR registry credentials: GetAuthorizationToken for private registries (one or more
// account ids) or ECR Public (us-east-1 only), decoded into registry host + user + password.
// The password is handed to `onSecret` before anything else sees it.
import { ShiplineError, errorMessage } from '../util/errors';
import { ECR_PUBLIC_REGION, ECR_PUBLIC_REGISTRY, callWithRetry, clientConfig, type CallLog, type CallPolicy } from './client';
import { awsErrorCode, classifyAwsError } from './errors';

export interface EcrAuth {
  /** host[:port], as docker config keys it. */
  registry: string;
  username: string;
  password: string;
  expiresAt: Date | undefined;
}

export interface EcrOptions {
  type: 'private' | 'public';
  region: string;
  /** Account ids; empty: the caller's own registry. */
  registryIds: string[];
  endpoint: string | undefined;
  policy: CallPolicy;
  log: CallLog;
  onSecret: (v: string) => void;
}

/** Decodes `base64(user:password)`; registers the token and password as secrets first. */
export function decodeAuthorization(token: string, onSecret: (v: string) => void): { username: string; password: string } {
  onSecret(token);
  const text = Buffer.from(token, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0) throw new ShiplineError('ECR returned an authorization token that is not user:password', { hint: 'this is unexpected from ECR; re-run the job' });
  const password = text.slice(i + 1);
  onSecret(password);
  return { username: text.slice(0, i), password };
}

/** `https://123.dkr.ecr.eu-west-1.amazonaws.com` -> `123.dkr.ecr.eu-west-1.amazonaws.com`. */
export function registryHost(proxyEndpoint: string): string {
  return proxyEndpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

export async function ecrAuthorization(opts: EcrOptions): Promise<EcrAuth[]> {
  const attemptTimeoutMs = opts.policy.attemptTimeoutMs ?? 10_000;
  const classify = (err: unknown) => classifyAwsError(err);
  const hint = 'check that the ECR API endpoint is reachable from the job; the retry policy is retry-max-attempts / timeout-seconds';
  try {
    if (opts.type === 'public') {
      const ecrPublic = await import('@aws-sdk/client-ecr-public');
      const client = new ecrPublic.ECRPUBLICClient(clientConfig({ region: ECR_PUBLIC_REGION, endpoint: opts.endpoint, step: 'ecr-login', attemptTimeoutMs }));
      try {
        const { value } = await callWithRetry(
          'ECR Public GetAuthorizationToken',
          (_a, signal) => client.send(new ecrPublic.GetAuthorizationTokenCommand({}), { abortSignal: signal }),
          opts.policy,
          classify,
          opts.log,
          hint,
        );
        const data = value.authorizationData;
        if (!data?.authorizationToken) throw new ShiplineError('ECR Public returned no authorization token', { hint: 're-run the job' });
        return [{ registry: ECR_PUBLIC_REGISTRY, ...decodeAuthorization(data.authorizationToken, opts.onSecret), expiresAt: data.expiresAt }];
      } finally {
        client.destroy();
      }
    }
    const ecr = await import('@aws-sdk/client-ecr');
    const client = new ecr.ECRClient(clientConfig({ region: opts.region, endpoint: opts.endpoint, step: 'ecr-login', attemptTimeoutMs }));
    try {
      const { value } = await callWithRetry(
        'ECR GetAuthorizationToken',
        (_a, signal) => client.send(new ecr.GetAuthorizationTokenCommand(opts.registryIds.length ? { registryIds: opts.registryIds } : {}), { abortSignal: signal }),
        opts.policy,
        classify,
        opts.log,
        hint,
      );
      const out: EcrAuth[] = [];
      for (const d of value.authorizationData ?? []) {
        if (!d.authorizationToken || !d.proxyEndpoint) continue;
        out.push({ registry: registryHost(d.proxyEndpoint), ...decodeAuthorization(d.authorizationToken, opts.onSecret), expiresAt: d.expiresAt });
      }
      if (out.length === 0) throw new ShiplineError('ECR returned no authorization data', { hint: 'check the input registries (account ids) and region' });
      return out;
    } finally {
      client.destroy();
    }
  } catch (err) {
    throw explainEcr(err, opts);
  }
}

export function explainEcr(err: unknown, opts: Pick<EcrOptions, 'type' | 'region' | 'registryIds'>): unknown {
  if (err instanceof ShiplineError) return err;
  const code = awsErrorCode(err);
  const what = opts.type === 'public' ? 'ECR Public GetAuthorizationToken' : `ECR GetAuthorizationToken in ${opts.region}`;
  const head = `${what} failed: ${code}: ${errorMessage(err)}`;
  if (code === 'CredentialsProviderError') {
    return new ShiplineError(`${what}: no AWS credentials found (${errorMessage(err)})`, {
      hint: 'run assume-role before this step (it exports AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), or provide credentials the SDK finds',
      cause: err,
    });
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied') {
    return new ShiplineError(head, {
      hint: opts.type === 'public' ? 'the role needs ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken' : `the role needs ecr:GetAuthorizationToken${opts.registryIds.length ? ` (and access to registries ${opts.registryIds.join(', ')})` : ''}`,
      cause: err,
    });
  }
  if (code === 'UnrecognizedClientException' || code === 'InvalidSignatureException' || code === 'ExpiredTokenException') {
    return new ShiplineError(head, { hint: 'the AWS credentials in the job are invalid or expired: run assume-role again right before this step', cause: err });
  }
  return new ShiplineError(head, { hint: 'check region, registries and the credentials in the job', cause: err });
}
