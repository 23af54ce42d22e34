// The non-secret claims of an OIDC token, and which part of an IAM trust a rejection points
// at: what a user needs to see when STS answers "Not authorized" or "Incorrect token audience".
// The token is decoded, never verified (STS does that); the signature is never printed.

export type Claims = Record<string, unknown>;

/** Claims that identify the pipeline; none of them is a credential. */
export const SHOWN_CLAIMS = [
  'iss',
  'aud',
  'sub',
  'project_path',
  'ref',
  'ref_type',
  'ref_protected',
  'repository',
  'environment',
  'job_workflow_ref',
  'exp',
] as const;

export function decodeClaims(token: string): Claims | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = JSON.parse(
      Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'),
    ) as unknown;
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/** The claims of `token` a log may show (none is a credential); undefined when it is not a JWT. */
export function publicClaims(token: string): Claims | undefined {
  const claims = decodeClaims(token);
  if (!claims) return undefined;
  return Object.fromEntries(SHOWN_CLAIMS.filter((k) => claims[k] !== undefined).map((k) => [k, claims[k]]));
}

/** A claim's value as text (lists comma-separated). */
export const claimText = (v: unknown): string =>
  Array.isArray(v) ? v.map(String).join(', ') : typeof v === 'string' ? v : JSON.stringify(v);

/** The issuer as IAM names it in condition keys: host + path, no scheme. */
export function issuerKey(iss: unknown): string {
  return String(iss ?? '')
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
}

export function shownClaims(claims: Claims): string[] {
  const lines: string[] = [];
  for (const k of SHOWN_CLAIMS) {
    if (claims[k] === undefined || claims[k] === '') continue;
    const v =
      k === 'exp' && typeof claims.exp === 'number'
        ? `${new Date(claims.exp * 1000).toISOString()}`
        : claimText(claims[k]);
    lines.push(`  ${k}: ${v}`);
  }
  return lines;
}

export type TrustProblem = 'denied' | 'audience' | 'issuer' | 'expired' | 'invalid';

/** Which part of the trust a rejected web identity call points at, from STS's code and message. */
export function trustProblem(code: string, message: string): TrustProblem {
  if (/expired/i.test(code) || /expired/i.test(message)) return 'expired';
  if (/audience/i.test(message)) return 'audience';
  if (/OpenIDConnect provider|openid connect provider/i.test(message)) return 'issuer';
  if (code === 'InvalidIdentityToken') return 'invalid';
  return 'denied';
}
