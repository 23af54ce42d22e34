// AssumeRoleWithWebIdentity without the AWS SDK. The call is unsigned (the token is the
// credential; AssumeRole, signed, is in sts.ts) and is one form POST of STS's Query protocol with an XML answer, so a
// node:http(s) request does it at a fraction of the SDK's start-up (DESIGN §7: the SDK
// alone costs more than node's own start). STS's error answers take the SDK's error shape
// (awsAnswerError), so classification and failures are shared with the SDK path.
import { publicClaims } from './claims';
import { callWithRetry } from './client';
import { awsAnswerError, awsFailure, classifyAwsError } from './errors';
import { httpRequest } from './http';
import { assumedRole, type AssumeParams, type AssumedRole, type StsCallOptions, type StsSource } from './sts-common';

const VERSION = '2011-06-15';

/** STS's regional endpoint, as the SDK resolves it for the commercial, China and GovCloud partitions. */
export function stsEndpoint(region: string): string {
  return `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeXml = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) =>
    e[0] === '#'
      ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)))
      : (ENTITIES[e.toLowerCase()] ?? _m),
  );

/** Text of the first <tag> inside `xml` (STS answers are flat, known documents). */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1]!) : undefined;
}

/** STS's XML answer: its body on 200, else the error it names (code, message, status). */
export function stsAnswer(a: { status: number; body: string; headers: Parameters<typeof awsAnswerError>[3] }): string {
  if (a.status === 200) return a.body;
  const code = xmlText(a.body, 'Code') ?? `HTTP${a.status}`;
  throw awsAnswerError(code, xmlText(a.body, 'Message') ?? `STS answered HTTP ${a.status}`, a.status, a.headers);
}

/** The credentials and role of an AssumeRole* answer. */
export function roleFromAnswer(
  xml: string,
  what: string,
  params: AssumeParams,
  attempts: number,
  onSecret: StsCallOptions['onSecret'],
  token?: string,
): AssumedRole {
  const creds = xmlSection(xml, 'Credentials');
  const expiration = xmlText(creds, 'Expiration');
  return assumedRole(
    {
      AccessKeyId: xmlText(creds, 'AccessKeyId'),
      SecretAccessKey: xmlText(creds, 'SecretAccessKey'),
      SessionToken: xmlText(creds, 'SessionToken'),
      Expiration: expiration ? new Date(expiration) : undefined,
    },
    xmlText(xmlSection(xml, 'AssumedRoleUser'), 'Arn'),
    what,
    params,
    attempts,
    onSecret,
    ...(token === undefined ? [] : [token]),
  );
}

export function xmlSection(xml: string, tag: string): string {
  return new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1] ?? '';
}

export async function assumeRoleWithWebIdentity(
  params: AssumeParams,
  source: Extract<StsSource, { kind: 'web-identity' }>,
  opts: StsCallOptions,
): Promise<AssumedRole> {
  const endpoint = (opts.endpoint ?? stsEndpoint(opts.region)).replace(/\/*$/, '/');
  const what = `STS AssumeRoleWithWebIdentity for ${params.roleArn}`;
  let lastToken: string | undefined;
  try {
    const { value: xml, attempts } = await callWithRetry(
      what,
      async (_attempt, signal) => {
        // A fresh token per attempt: a retried call never presents an expired one.
        const token = await source.token(signal);
        lastToken = token;
        const form = new URLSearchParams({
          Action: 'AssumeRoleWithWebIdentity',
          Version: VERSION,
          RoleArn: params.roleArn,
          RoleSessionName: params.sessionName,
          WebIdentityToken: token,
          DurationSeconds: String(params.durationSeconds),
        });
        const a = await httpRequest(new URL(endpoint), {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'user-agent': 'shipline/assume-role',
            accept: 'text/xml',
          },
          body: Buffer.from(form.toString()),
          signal,
        });
        return stsAnswer(a);
      },
      opts.policy,
      (err) => classifyAwsError(err, { refreshableToken: source.refreshable }),
      opts.log,
    );
    return roleFromAnswer(xml, what, params, attempts, opts.onSecret, lastToken);
  } catch (err) {
    // The claims of the token STS saw, for the step to set beside the trust policy.
    throw awsFailure(err, what, {
      roleArn: params.roleArn,
      endpoint: endpoint.replace(/\/$/, ''),
      ...(lastToken === undefined ? {} : { claims: publicClaims(lastToken) }),
    });
  }
}
