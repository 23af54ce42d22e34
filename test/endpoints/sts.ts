// Loopback AWS STS speaking the Query protocol (form POST in, XML out) for the real SDK:
// AssumeRole (SigV4), AssumeRoleWithWebIdentity (JWT checked against the bench issuer),
// GetCallerIdentity. Errors are AWS ErrorResponse documents with AWS's codes and statuses.
import crypto from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { BenchConfig } from './config';
import { Endpoint, type FaultRender, sendJson, sendText } from './control';
import { type SigningKey, decodeJwt, verifyJwtSignature } from './jwt';
import { type KnownCredential, verifySigV4 } from './sigv4';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface Role {
  name: string;
  maxSessionDuration: number;
  /** Trust for AssumeRoleWithWebIdentity; absent = not federated. */
  webIdentity?: { audiences: string[]; subjects: string[] };
  /** Trust for AssumeRole by any known bench credential; absent = not assumable that way. */
  assumeRole?: { externalId?: string };
}

export interface Session extends KnownCredential {
  accessKeyId: string;
  arn: string;
  userId: string;
  chained: boolean;
}

export class CredentialStore {
  readonly sessions = new Map<string, Session>();
  constructor(
    readonly account: string,
    readonly staticKey: { accessKeyId: string; secretAccessKey: string },
  ) {}

  lookup = (accessKeyId: string): KnownCredential | undefined => {
    if (accessKeyId === this.staticKey.accessKeyId) return { secretAccessKey: this.staticKey.secretAccessKey };
    return this.sessions.get(accessKeyId);
  };

  identity(accessKeyId: string): { arn: string; userId: string; chained: boolean } {
    const s = this.sessions.get(accessKeyId);
    if (s) return { arn: s.arn, userId: s.userId, chained: true };
    return { arn: `arn:aws:iam::${this.account}:user/shipline-test`, userId: 'AIDASHIPLINETESTUSER', chained: false };
  }

  issue(roleArn: string, roleName: string, sessionName: string, seconds: number): Session {
    const alnum = (n: number) =>
      Array.from(crypto.randomBytes(n), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
    const roleId = `AROA${crypto.createHash('sha256').update(roleArn).digest('hex').slice(0, 17).toUpperCase()}`;
    const s: Session = {
      accessKeyId: `ASIA${alnum(16)}`,
      secretAccessKey: crypto.randomBytes(30).toString('base64').replace(/[+/=]/g, 'x'),
      sessionToken: `IQoJb3JpZ2luX2VjE${crypto.randomBytes(180).toString('base64')}`,
      expiration: new Date(Math.floor(Date.now() / 1000 + seconds) * 1000),
      arn: `arn:aws:sts::${this.account}:assumed-role/${roleName}/${sessionName}`,
      userId: `${roleId}:${sessionName}`,
      chained: false,
    };
    this.sessions.set(s.accessKeyId, s);
    return s;
  }
}

export function defaultRoles(cfg: BenchConfig): Role[] {
  return [
    {
      name: 'shipline-ci',
      maxSessionDuration: 3600,
      webIdentity: { audiences: ['sts.amazonaws.com'], subjects: ['*'] },
      assumeRole: {},
    },
    {
      name: 'shipline-main',
      maxSessionDuration: 3600,
      webIdentity: {
        audiences: ['sts.amazonaws.com'],
        subjects: [
          'repo:shipline/shipline:ref:refs/heads/main',
          'project_path:shipline/shipline:ref_type:branch:ref:main',
        ],
      },
    },
    {
      name: 'shipline-gitlab',
      maxSessionDuration: 3600,
      webIdentity: { audiences: ['https://gitlab.example.com'], subjects: ['project_path:shipline/*'] },
    },
    {
      name: 'shipline-long',
      maxSessionDuration: 43200,
      webIdentity: { audiences: ['sts.amazonaws.com'], subjects: ['*'] },
      assumeRole: {},
    },
    { name: 'shipline-external', maxSessionDuration: 3600, assumeRole: { externalId: cfg.aws.externalId } },
  ];
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function sendError(res: ServerResponse, status: number, code: string, message: string, retryAfter?: number): void {
  const xml =
    `<ErrorResponse xmlns="${NS}">\n  <Error>\n    <Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>\n    <Code>${esc(code)}</Code>\n` +
    `    <Message>${esc(message)}</Message>\n  </Error>\n  <RequestId>${crypto.randomUUID()}</RequestId>\n</ErrorResponse>\n`;
  const headers: Record<string, string> = { 'x-amzn-requestid': crypto.randomUUID() };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  sendText(res, status, xml, 'text/xml', headers);
}

function sendResult(res: ServerResponse, action: string, inner: string): void {
  const requestId = crypto.randomUUID();
  const xml =
    `<${action}Response xmlns="${NS}">\n  <${action}Result>\n${inner}  </${action}Result>\n` +
    `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`;
  sendText(res, 200, xml, 'text/xml', { 'x-amzn-requestid': requestId });
}

const credentialsXml = (s: Session) =>
  `    <Credentials>\n      <AccessKeyId>${s.accessKeyId}</AccessKeyId>\n      <SecretAccessKey>${esc(s.secretAccessKey)}</SecretAccessKey>\n` +
  `      <SessionToken>${esc(s.sessionToken ?? '')}</SessionToken>\n      <Expiration>${iso(s.expiration!)}</Expiration>\n    </Credentials>\n`;
const userXml = (s: Session) =>
  `    <AssumedRoleUser>\n      <Arn>${esc(s.arn)}</Arn>\n      <AssumedRoleId>${esc(s.userId)}</AssumedRoleId>\n    </AssumedRoleUser>\n`;

export interface Sts {
  endpoint: Endpoint;
  store: CredentialStore;
}

export function createSts(
  cfg: BenchConfig,
  issuer: { issuer: string; keys: () => SigningKey[] },
  store: CredentialStore,
): Sts {
  const account = cfg.account;
  let roles = defaultRoles(cfg);
  /** Client IDs registered on the IAM OIDC provider for the bench issuer. */
  const providerAudiences = () => new Set(roles.flatMap((r) => r.webIdentity?.audiences ?? []));

  const findRole = (arn: string): Role | undefined => {
    const m = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(arn);
    if (!m || m[1] !== account) return undefined;
    return roles.find((r) => r.name === m[2]);
  };

  function validateCommon(
    p: URLSearchParams,
    maxFor: (role: Role) => number,
    role: Role | undefined,
  ): { sessionName: string; seconds: number } {
    const roleArn = p.get('RoleArn');
    const sessionName = p.get('RoleSessionName');
    if (!roleArn)
      throw new StsError(
        400,
        'ValidationError',
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
      );
    if (roleArn.length < 20)
      throw new StsError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`,
      );
    if (!sessionName)
      throw new StsError(
        400,
        'ValidationError',
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
      );
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new StsError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const seconds = Number(p.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(seconds) || seconds < 900) {
      throw new StsError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${p.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
      );
    }
    if (seconds > 43200) {
      throw new StsError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`,
      );
    }
    if (role && seconds > maxFor(role)) {
      throw new StsError(
        400,
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }
    return { sessionName, seconds };
  }

  function assumeRoleWithWebIdentity(res: ServerResponse, p: URLSearchParams, details: Record<string, unknown>): void {
    const roleArn = p.get('RoleArn') ?? '';
    const role = findRole(roleArn);
    const { sessionName, seconds } = validateCommon(p, (r) => r.maxSessionDuration, role);
    const token = p.get('WebIdentityToken');
    if (!token)
      throw new StsError(
        400,
        'ValidationError',
        "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null",
      );
    let decoded;
    try {
      decoded = decodeJwt(token);
    } catch {
      throw new StsError(
        400,
        'InvalidIdentityToken',
        'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
      );
    }
    const c = decoded.claims;
    details.sub = c.sub;
    details.aud = c.aud;
    details.role = roleArn;
    if (c.iss !== issuer.issuer)
      throw new StsError(
        400,
        'InvalidIdentityToken',
        `No OpenIDConnect provider found in your account for ${String(c.iss)}`,
      );
    try {
      verifyJwtSignature(decoded, issuer.keys());
    } catch (e) {
      throw new StsError(
        400,
        'InvalidIdentityToken',
        `The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request. (${(e as Error).message})`,
      );
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof c.exp !== 'number' || c.exp <= now) {
      throw new StsError(
        400,
        'ExpiredTokenException',
        `Token expired: current date/time ${now} must be before the expiration date/time ${String(c.exp)}`,
      );
    }
    if (typeof c.nbf === 'number' && c.nbf > now + 60)
      throw new StsError(400, 'InvalidIdentityToken', 'Token is not yet valid (nbf is in the future)');
    const auds = Array.isArray(c.aud) ? c.aud.map(String) : [String(c.aud)];
    const known = providerAudiences();
    if (!auds.some((a) => known.has(a))) throw new StsError(400, 'InvalidIdentityToken', 'Incorrect token audience');
    const sub = String(c.sub ?? '');
    const denied = `Not authorized to perform sts:AssumeRoleWithWebIdentity`;
    if (!role || !role.webIdentity) throw new StsError(403, 'AccessDenied', denied);
    if (!auds.some((a) => role.webIdentity!.audiences.includes(a))) throw new StsError(403, 'AccessDenied', denied);
    if (!role.webIdentity.subjects.some((pat) => glob(pat, sub))) throw new StsError(403, 'AccessDenied', denied);
    const s = store.issue(roleArn, role.name, sessionName, seconds);
    const provider = `arn:aws:iam::${account}:oidc-provider/${issuer.issuer.replace(/^https?:\/\//, '')}`;
    sendResult(
      res,
      'AssumeRoleWithWebIdentity',
      `    <SubjectFromWebIdentityToken>${esc(sub)}</SubjectFromWebIdentityToken>\n    <Audience>${esc(auds[0] ?? '')}</Audience>\n` +
        userXml(s) +
        credentialsXml(s) +
        `    <Provider>${esc(provider)}</Provider>\n`,
    );
  }

  function assumeRole(res: ServerResponse, p: URLSearchParams, caller: string, details: Record<string, unknown>): void {
    const roleArn = p.get('RoleArn') ?? '';
    details.role = roleArn;
    const role = findRole(roleArn);
    const who = store.identity(caller);
    const { sessionName, seconds } = validateCommon(
      p,
      (r) => (who.chained ? Math.min(3600, r.maxSessionDuration) : r.maxSessionDuration),
      role,
    );
    if (who.chained && seconds > 3600) {
      throw new StsError(
        400,
        'ValidationError',
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      );
    }
    const denied = `User: ${who.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;
    if (!role || !role.assumeRole) throw new StsError(403, 'AccessDenied', denied);
    const wanted = role.assumeRole.externalId;
    if (wanted !== undefined && p.get('ExternalId') !== wanted) throw new StsError(403, 'AccessDenied', denied);
    const s = store.issue(roleArn, role.name, sessionName, seconds);
    s.chained = who.chained;
    sendResult(res, 'AssumeRole', userXml(s) + credentialsXml(s) + '    <PackedPolicySize>0</PackedPolicySize>\n');
  }

  const endpoint = new Endpoint({
    name: 'sts',
    port: cfg.ports.sts,
    classify: (_req, url, body) =>
      new URLSearchParams(body.toString()).get('Action') ?? url.searchParams.get('Action') ?? 'Unknown',
    renderFault: (res, f: FaultRender) =>
      sendError(
        res,
        f.status,
        f.status === 429 ? 'Throttling' : f.code === 'InternalFailure' ? 'InternalFailure' : f.code,
        f.message,
        f.retryAfter,
      ),
    reset: () => {
      roles = defaultRoles(cfg);
    },
    control: (req, res, url, body) => {
      if (url.pathname === '/__control/sts/roles' && req.method === 'POST') {
        const role = JSON.parse(body.toString()) as Role;
        roles = roles.filter((r) => r.name !== role.name).concat(role);
        sendJson(res, 200, { ok: true, roles });
        return true;
      }
      if (url.pathname === '/__control/sts/roles' && req.method === 'GET') {
        sendJson(res, 200, { roles });
        return true;
      }
      if (url.pathname === '/__control/sts/expire-sessions' && req.method === 'POST') {
        for (const s of store.sessions.values()) s.expiration = new Date(Date.now() - 1000);
        sendJson(res, 200, { ok: true, expired: store.sessions.size });
        return true;
      }
      return false;
    },
    handle: (req, res, meta) => {
      const p = new URLSearchParams(meta.body.toString());
      for (const [k, v] of meta.url.searchParams) if (!p.has(k)) p.set(k, v);
      try {
        if (meta.action === 'AssumeRoleWithWebIdentity') return assumeRoleWithWebIdentity(res, p, meta.details);
        if (meta.action === 'AssumeRole' || meta.action === 'GetCallerIdentity') {
          const auth = verifySigV4(req, meta.body, 'sts', store.lookup);
          if (!auth.ok) return sendError(res, auth.status, auth.code, auth.message);
          meta.details.accessKeyId = auth.accessKeyId;
          if (meta.action === 'AssumeRole') return assumeRole(res, p, auth.accessKeyId, meta.details);
          const who = store.identity(auth.accessKeyId);
          return sendResult(
            res,
            'GetCallerIdentity',
            `    <Arn>${esc(who.arn)}</Arn>\n    <UserId>${esc(who.userId)}</UserId>\n    <Account>${account}</Account>\n`,
          );
        }
        sendError(res, 400, 'InvalidAction', `Could not find operation ${meta.action} for version 2011-06-15`);
      } catch (e) {
        if (e instanceof StsError) {
          meta.details.error = e.code;
          return sendError(res, e.status, e.code, e.message);
        }
        throw e;
      }
    },
  });
  return { endpoint, store };
}
