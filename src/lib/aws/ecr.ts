// ECR registry credentials: GetAuthorizationToken for private registries (one or more
// account ids) or ECR Public (us-east-1 only), decoded into registry host + user + password.
// The password is handed to `onSecret` before anything else sees it.
import { ShiplineError } from '../util/errors';
import {
  ECR_PUBLIC_REGION,
  ECR_PUBLIC_REGISTRY,
  callWithRetry,
  clientConfig,
  type CallLog,
  type CallPolicy,
} from './client';
import { awsFailure, classifyAwsError } from './errors';

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
export function decodeAuthorization(
  token: string,
  onSecret: (v: string) => void,
): { username: string; password: string } {
  onSecret(token);
  const text = Buffer.from(token, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0)
    throw new ShiplineError('ECR returned an authorization token that is not user:password', {
      kind: 'invalid',
      hint: 'this is unexpected from ECR; re-run the job',
    });
  const password = text.slice(i + 1);
  onSecret(password);
  return { username: text.slice(0, i), password };
}

/** `https://123.dkr.ecr.eu-west-1.amazonaws.com` -> `123.dkr.ecr.eu-west-1.amazonaws.com`. */
export function registryHost(proxyEndpoint: string): string {
  return proxyEndpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

export async function ecrAuthorization(opts: EcrOptions): Promise<EcrAuth[]> {
  const what =
    opts.type === 'public' ? 'ECR Public GetAuthorizationToken' : `ECR GetAuthorizationToken in ${opts.region}`;
  try {
    return opts.type === 'public' ? await publicAuthorization(opts) : await privateAuthorization(opts);
  } catch (err) {
    throw awsFailure(err, what, { type: opts.type, registryIds: opts.registryIds });
  }
}

const call = <T>(what: string, opts: EcrOptions, fn: (signal: AbortSignal) => Promise<T>) =>
  callWithRetry(
    what,
    (_a, signal) => fn(signal),
    opts.policy,
    (err) => classifyAwsError(err),
    opts.log,
  ).then((r) => r.value);

const config = (opts: EcrOptions, region: string) =>
  clientConfig({
    region,
    endpoint: opts.endpoint,
    step: 'ecr-login',
    attemptTimeoutMs: opts.policy.attemptTimeoutMs ?? 10_000,
  });

async function publicAuthorization(opts: EcrOptions): Promise<EcrAuth[]> {
  const sdk = await import('@aws-sdk/client-ecr-public');
  const client = new sdk.ECRPUBLICClient(config(opts, ECR_PUBLIC_REGION));
  try {
    const value = await call('ECR Public GetAuthorizationToken', opts, (abortSignal) =>
      client.send(new sdk.GetAuthorizationTokenCommand({}), { abortSignal }),
    );
    const data = value.authorizationData;
    if (!data?.authorizationToken)
      throw new ShiplineError('ECR Public returned no authorization token', {
        kind: 'invalid',
        hint: 're-run the job',
      });
    return [
      {
        registry: ECR_PUBLIC_REGISTRY,
        ...decodeAuthorization(data.authorizationToken, opts.onSecret),
        expiresAt: data.expiresAt,
      },
    ];
  } finally {
    client.destroy();
  }
}

async function privateAuthorization(opts: EcrOptions): Promise<EcrAuth[]> {
  const sdk = await import('@aws-sdk/client-ecr');
  const client = new sdk.ECRClient(config(opts, opts.region));
  try {
    const input = opts.registryIds.length ? { registryIds: opts.registryIds } : {};
    const value = await call('ECR GetAuthorizationToken', opts, (abortSignal) =>
      client.send(new sdk.GetAuthorizationTokenCommand(input), { abortSignal }),
    );
    const out: EcrAuth[] = [];
    for (const d of value.authorizationData ?? []) {
      if (!d.authorizationToken || !d.proxyEndpoint) continue;
      out.push({
        registry: registryHost(d.proxyEndpoint),
        ...decodeAuthorization(d.authorizationToken, opts.onSecret),
        expiresAt: d.expiresAt,
      });
    }
    if (out.length === 0) throw new ShiplineError('ECR returned no authorization data', { kind: 'not-found' });
    return out;
  } finally {
    client.destroy();
  }
}
