// Server-side AWS Signature Version 4 verification (header form), so the loopback STS/ECR
// accept exactly what real AWS accepts from the SDK: right key, right secret, right token.
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface KnownCredential {
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type SigV4Outcome =
  { ok: true; accessKeyId: string; region: string } | { ok: false; status: number; code: string; message: string };

const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256hex = (data: Buffer | string): string => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => crypto.createHmac('sha256', key).update(data).digest();

function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const i = kv.indexOf('=');
      const k = decodeURIComponent((i < 0 ? kv : kv.slice(0, i)).replace(/\+/g, ' '));
      const v = i < 0 ? '' : decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
      return [rfc3986(k), rfc3986(v)] as const;
    });
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValues(req: IncomingMessage): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!.trim().replace(/\s+/g, ' ');
    const list = map.get(name) ?? [];
    list.push(value);
    map.set(name, list);
  }
  return map;
}

export function verifySigV4(
  req: IncomingMessage,
  body: Buffer,
  service: string,
  lookup: (accessKeyId: string) => KnownCredential | undefined,
  now: Date = new Date(),
): SigV4Outcome {
  const auth = req.headers.authorization;
  if (!auth)
    return {
      ok: false,
      status: 403,
      code: 'MissingAuthenticationToken',
      message: 'Request is missing Authentication Token',
    };
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)$/.exec(
    auth.trim(),
  );
  if (!m)
    return {
      ok: false,
      status: 400,
      code: 'IncompleteSignature',
      message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' (AWS4-HMAC-SHA256)`,
    };
  const [, credential, signedHeadersRaw, signature] = m as unknown as [string, string, string, string];
  const scopeParts = credential.split('/');
  if (scopeParts.length !== 5 || scopeParts[4] !== 'aws4_request') {
    return { ok: false, status: 400, code: 'IncompleteSignature', message: `Credential is malformed: ${credential}` };
  }
  const [accessKeyId, date, region, scopeService] = scopeParts as [string, string, string, string, string];
  if (scopeService !== service) {
    return {
      ok: false,
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Credential should be scoped to correct service: '${service}'.`,
    };
  }
  const known = lookup(accessKeyId);
  if (!known)
    return {
      ok: false,
      status: 403,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    };
  const token = req.headers['x-amz-security-token'];
  if (known.sessionToken !== undefined && token !== known.sessionToken) {
    return {
      ok: false,
      status: 403,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    };
  }
  if (known.expiration && known.expiration.getTime() <= now.getTime()) {
    return {
      ok: false,
      status: 400,
      code: 'ExpiredToken',
      message: 'The security token included in the request is expired',
    };
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(date)) {
    return {
      ok: false,
      status: 400,
      code: 'IncompleteSignature',
      message: 'X-Amz-Date header missing or not matching the credential scope date',
    };
  }
  const signedAt = Date.UTC(
    +amzDate.slice(0, 4),
    +amzDate.slice(4, 6) - 1,
    +amzDate.slice(6, 8),
    +amzDate.slice(9, 11),
    +amzDate.slice(11, 13),
    +amzDate.slice(13, 15),
  );
  if (Math.abs(now.getTime() - signedAt) > 15 * 60 * 1000) {
    return {
      ok: false,
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Signature expired: ${amzDate} is now earlier than allowed (15 min skew)`,
    };
  }

  const rawUrl = req.url ?? '/';
  const qi = rawUrl.indexOf('?');
  const rawPath = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
  const rawQuery = qi < 0 ? '' : rawUrl.slice(qi + 1);
  const canonicalPath = rawPath
    .split('/')
    .map((seg) => rfc3986(decodeURIComponent(seg)))
    .map((seg) => rfc3986(seg))
    .join('/');
  const headers = headerValues(req);
  const signedHeaders = signedHeadersRaw.split(';');
  if (!signedHeaders.includes('host'))
    return { ok: false, status: 403, code: 'SignatureDoesNotMatch', message: "'Host' must be a signed header" };
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${(headers.get(h) ?? []).join(',')}\n`).join('');
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? sha256hex(body));
  const canonicalRequest = [
    req.method ?? 'GET',
    canonicalPath,
    canonicalQuery(rawQuery),
    canonicalHeaders,
    signedHeadersRaw,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${scopeService}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${known.secretAccessKey}`, date);
  const kSigning = hmac(hmac(hmac(kDate, region), scopeService), 'aws4_request');
  const expected = crypto.createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  if (expected.length !== signature.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    return {
      ok: false,
      status: 403,
      code: 'SignatureDoesNotMatch',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return { ok: true, accessKeyId, region };
}
