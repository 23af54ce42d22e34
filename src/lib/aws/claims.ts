// The non-secret claims of an OIDC token and the IAM trust-policy conditions they must meet:
// what a user needs to see when STS answers "Not authorized" or "Incorrect token audience".
// The token is decoded, never verified (STS does that); the signature is never printed.

export type Claims = Record<string, unknown>;

/** Claims that identify the pipeline; none of them is a credential. */
export const SHOWN_CLAIMS = ['iss', 'aud', 'sub', 'project_path', 'ref', 'ref_type', 'ref_protected', 'repository', 'environment', 'job_workflow_ref', 'exp'] as const;

export function decodeClaims(token: string): Claims | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = JSON.parse(Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Claims) : undefined;
  } catch {
    return undefined;
  }
}

const show = (v: unknown): string => (Array.isArray(v) ? v.map(String).join(', ') : typeof v === 'string' ? v : JSON.stringify(v));

/** The issuer as IAM names it in condition keys: host + path, no scheme. */
export function issuerKey(iss: unknown): string {
  return String(iss ?? '').replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

export function shownClaims(claims: Claims): string[] {
  const lines: string[] = [];
  for (const k of SHOWN_CLAIMS) {
    if (claims[k] === undefined || claims[k] === '') continue;
    const v = k === 'exp' && typeof claims.exp === 'number' ? `${new Date(claims.exp * 1000).toISOString()}` : show(claims[k]);
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

/**
 * Multi-line hint: the token's claims beside the trust-policy conditions of `roleArn` that
 * would admit them, for the kind of rejection STS reported.
 */
export function trustHint(claims: Claims | undefined, roleArn: string, problem: TrustProblem, audienceInput: string | undefined): string {
  if (!claims) return 'the web identity token is not a JWT (three base64url parts): pass the id_token itself, not an access token';
  const host = issuerKey(claims.iss);
  const aud = show(claims.aud);
  const account = /::(\d{12}):/.exec(roleArn)?.[1] ?? '<account>';
  const lines = ['the token presented to STS carries these claims:', ...shownClaims(claims)];
  switch (problem) {
    case 'audience':
      lines.push(
        `the IAM OIDC provider for ${host} does not list the audience '${aud}' as a client ID:`,
        `  add it to the provider (aws iam add-client-id-to-open-id-connect-provider --client-id '${aud}'),`,
        audienceInput !== undefined
          ? `  or set the input 'audience' to a client ID the provider lists (usually sts.amazonaws.com)`
          : `  or request the id_token with an audience the provider lists (GitLab: id_tokens: <NAME>: aud: sts.amazonaws.com)`,
      );
      break;
    case 'issuer':
      lines.push(`no IAM OIDC provider exists for the issuer: create arn:aws:iam::${account}:oidc-provider/${host} (URL https://${host}, client ID '${aud}')`);
      break;
    case 'expired':
      lines.push('the token expired before STS saw it: request it right before the call (shipline fetches a fresh GitHub token per attempt; GitLab id_tokens live as long as the job)');
      break;
    default:
      lines.push(
        `the trust policy of ${roleArn} must allow sts:AssumeRoleWithWebIdentity for`,
        `  Principal: { "Federated": "arn:aws:iam::${account}:oidc-provider/${host}" }`,
        `  Condition: StringEquals "${host}:aud": "${aud}"`,
        `             StringLike   "${host}:sub": "${show(claims.sub)}"  (or a pattern matching it)`,
      );
      if (problem === 'invalid') lines.push('STS also rejected the token itself: check that it comes from this issuer and has not been altered');
  }
  return lines.join('\n');
}
