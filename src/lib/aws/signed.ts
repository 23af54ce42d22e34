// One SigV4-signed AWS request over util/http, without the AWS SDK: `aws4` (a small,
// dependency-free signer) computes the Authorization header, util/http sends the bytes.
// JSON 1.1 (ECR, ECR Public) answers are read here; error answers take the SDK's error
// shape (awsAnswerError), so classification and failure wording are shared with the SDK.
import { ShiplineError } from '../util/errors';
import type { AwsCredentials } from './credentials';
import { awsAnswerError } from './errors';
import { httpRequest, type HttpAnswer, type HttpClient } from './http';

// A require: aws4 is CommonJS, and an import of it brings esbuild's ES-module interop helpers
// (~0.2 KB) into every bundle that signs.
const { sign } = require('aws4') as typeof import('aws4');

export interface SignedRequest {
  /** The service endpoint, e.g. `https://api.ecr.eu-west-1.amazonaws.com` (a path is kept). */
  endpoint: string;
  /** The signing name: `sts`, `ecr`, `ecr-public`. */
  service: string;
  region: string;
  method?: 'GET' | 'POST';
  /** Lower-case names; `host` and `x-amz-date` are added when absent. */
  headers: Record<string, string>;
  body: string;
  credentials: AwsCredentials;
}

/** The URL and headers (lower-case, Authorization included) of a request signed with SigV4. */
export function signRequest(r: SignedRequest, now: Date = new Date()): { url: URL; headers: Record<string, string> } {
  const url = new URL(r.endpoint);
  const headers: Record<string, string | number> = {
    host: url.host,
    'x-amz-date': now.toISOString().replace(/[:-]|\.\d{3}/g, ''),
    ...r.headers,
  };
  if (r.body) headers['content-length'] = Buffer.byteLength(r.body);
  const signed = sign(
    {
      host: url.host,
      path: `${url.pathname}${url.search}`,
      method: r.method ?? 'POST',
      service: r.service,
      region: r.region,
      headers,
      body: r.body,
    },
    {
      accessKeyId: r.credentials.accessKeyId,
      secretAccessKey: r.credentials.secretAccessKey,
      ...(r.credentials.sessionToken ? { sessionToken: r.credentials.sessionToken } : {}),
    },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) out[k.toLowerCase()] = String(v);
  return { url, headers: out };
}

/** Signs and sends one request; the answer whole. */
export async function signedSend(
  r: SignedRequest & { signal: AbortSignal; request?: HttpClient },
): Promise<HttpAnswer> {
  const { url, headers } = signRequest(r);
  return (r.request ?? httpRequest)(url, {
    method: r.method ?? 'POST',
    headers,
    ...(r.body ? { body: Buffer.from(r.body) } : {}),
    signal: r.signal,
  });
}

/** The error code as the SDK reads it: `x-amzn-errortype`, else `code` / `__type`, without namespace or URL. */
export function jsonErrorCode(headers: Record<string, string | undefined>, body: Record<string, unknown>): string {
  const raw = headers['x-amzn-errortype'] ?? (body.code as string | undefined) ?? (body.__type as string | undefined);
  if (typeof raw !== 'string' || !raw) return '';
  let code = raw.split(':')[0]!;
  if (code.includes('#')) code = code.slice(code.lastIndexOf('#') + 1);
  return code;
}

/** One AWS JSON 1.1 call (`X-Amz-Target: <target>`): the parsed answer, or an SDK-shaped error. */
export async function awsJsonCall<T>(
  r: Omit<SignedRequest, 'headers' | 'body' | 'method'> & {
    target: string;
    input: unknown;
    agent: string;
    signal: AbortSignal;
    request?: HttpClient;
  },
): Promise<T> {
  const a = await signedSend({
    ...r,
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': r.target,
      'user-agent': `shipline/${r.agent}`,
    },
    body: JSON.stringify(r.input ?? {}),
  });
  let body: Record<string, unknown> = {};
  let parsed = true;
  try {
    const v = JSON.parse(a.body || '{}') as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
  } catch {
    parsed = false;
  }
  if (a.status >= 200 && a.status < 300) {
    if (!parsed)
      throw new ShiplineError(`${r.target} answered HTTP ${a.status} with a body that is not JSON`, {
        kind: 'invalid',
        hint: 're-run the job',
        data: { status: a.status },
      });
    return body as T;
  }
  const code = jsonErrorCode(a.headers, body) || `HTTP${a.status}`;
  const message =
    (typeof body.message === 'string' && body.message) ||
    (typeof body.Message === 'string' && body.Message) ||
    `${r.service} answered HTTP ${a.status}`;
  throw awsAnswerError(code, message, a.status, a.headers);
}
