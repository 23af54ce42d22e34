// ECR registry credentials: GetAuthorizationToken for private registries (one or more
// account ids) or ECR Public (us-east-1 only), decoded into registry host + user + password.
// One signed JSON 1.1 request (signed.ts), no SDK client; the job's credentials come from
// credentials.ts. The password is handed to `onSecret` before anything else sees it.
import type { Env } from '../util/env';
import { ShiplineError } from '../util/errors';
import {
  ECR_PUBLIC_REGION,
  ECR_PUBLIC_REGISTRY,
  callWithRetry,
  serviceEndpoint,
  type CallLog,
  type CallPolicy,
} from './client';
import { jobCredentials, type AwsCredentials } from './credentials';
import { awsFailure, classifyAwsError } from './errors';
import { awsJsonCall } from './signed';

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

/** ECR's API endpoint for private registries, as the SDK resolves it. */
export const ecrEndpoint = (region: string) => serviceEndpoint('api.ecr', region);
/** ECR Public's API endpoint (us-east-1 only). */
export const ecrPublicEndpoint = () => serviceEndpoint('api.ecr-public', ECR_PUBLIC_REGION);

const PRIVATE_TARGET = 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken';
const PUBLIC_TARGET = 'SpencerFrontendService.GetAuthorizationToken';

interface AuthorizationData {
  authorizationToken?: string;
  proxyEndpoint?: string;
  /** Epoch seconds (JSON 1.1 timestamps). */
  expiresAt?: number;
}

const epoch = (s: number | undefined) => (typeof s === 'number' ? new Date(s * 1000) : undefined);

/** Registry credentials for the job; `env` holds the job's AWS credentials (credentials.ts). */
export async function ecrAuthorization(opts: EcrOptions, env: Env): Promise<EcrAuth[]> {
  const what =
    opts.type === 'public' ? 'ECR Public GetAuthorizationToken' : `ECR GetAuthorizationToken in ${opts.region}`;
  try {
    const { credentials } = await jobCredentials(env, {
      region: opts.region,
      policy: opts.policy,
      log: opts.log,
      onSecret: opts.onSecret,
    });
    return opts.type === 'public'
      ? await publicAuthorization(opts, credentials)
      : await privateAuthorization(opts, credentials);
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

async function publicAuthorization(opts: EcrOptions, credentials: AwsCredentials): Promise<EcrAuth[]> {
  const value = await call('ECR Public GetAuthorizationToken', opts, (signal) =>
    awsJsonCall<{ authorizationData?: AuthorizationData }>({
      endpoint: opts.endpoint ?? ecrPublicEndpoint(),
      service: 'ecr-public',
      region: ECR_PUBLIC_REGION,
      target: PUBLIC_TARGET,
      input: {},
      credentials,
      agent: 'ecr-login',
      signal,
    }),
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
      expiresAt: epoch(data.expiresAt),
    },
  ];
}

async function privateAuthorization(opts: EcrOptions, credentials: AwsCredentials): Promise<EcrAuth[]> {
  const input = opts.registryIds.length ? { registryIds: opts.registryIds } : {};
  const value = await call('ECR GetAuthorizationToken', opts, (signal) =>
    awsJsonCall<{ authorizationData?: AuthorizationData[] }>({
      endpoint: opts.endpoint ?? ecrEndpoint(opts.region),
      service: 'ecr',
      region: opts.region,
      target: PRIVATE_TARGET,
      input,
      credentials,
      agent: 'ecr-login',
      signal,
    }),
  );
  const out: EcrAuth[] = [];
  for (const d of value.authorizationData ?? []) {
    if (!d.authorizationToken || !d.proxyEndpoint) continue;
    out.push({
      registry: registryHost(d.proxyEndpoint),
      ...decodeAuthorization(d.authorizationToken, opts.onSecret),
      expiresAt: epoch(d.expiresAt),
    });
  }
  if (out.length === 0) throw new ShiplineError('ECR returned no authorization data', { kind: 'not-found' });
  return out;
}
