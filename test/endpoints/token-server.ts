// Loopback Docker Registry token server (Distribution `auth.token`): checks Basic
// credentials, grants the requested repository scopes and signs an RS256 JWT whose
// x5c certificate is the one in the registry's rootcertbundle. Every request is logged.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BenchConfig } from './config';
import { Endpoint, type FaultRender, sendJson } from './control';
import { loadSigningKey, signJwt } from './jwt';

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const GRANTABLE: Record<string, string[]> = { repository: ['pull', 'push', 'delete'], registry: ['*'] };

export function parseScopes(values: string[]): Access[] {
  const out: Access[] = [];
  for (const v of values.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const first = v.indexOf(':');
    const last = v.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    out.push({
      type: v.slice(0, first),
      name: v.slice(first + 1, last),
      actions: v
        .slice(last + 1)
        .split(',')
        .filter(Boolean),
    });
  }
  return out;
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const raw = Buffer.from(m[1]!, 'base64').toString();
  const i = raw.indexOf(':');
  return i < 0 ? undefined : { user: raw.slice(0, i), password: raw.slice(i + 1) };
}

export function createTokenServer(cfg: BenchConfig): Endpoint {
  const certDer = new crypto.X509Certificate(fs.readFileSync(cfg.registry.tokenCertFile)).raw;
  const key = loadSigningKey(fs.readFileSync(cfg.registry.tokenKeyFile, 'utf8'), { x5c: [certDer.toString('base64')] });
  let ttl = 300;

  const deny = (res: ServerResponse, status: number, message: string) =>
    sendJson(
      res,
      status,
      { errors: [{ code: status === 401 ? 'UNAUTHORIZED' : 'DENIED', message }], details: message },
      status === 401 ? { 'www-authenticate': 'Basic realm="shipline-testbed"' } : {},
    );

  return new Endpoint({
    name: 'token-server',
    port: cfg.ports.tokenServer,
    classify: (req, url) => `${req.method} ${url.pathname}`,
    renderFault: (res, f: FaultRender) => {
      const headers: Record<string, string> = {};
      if (f.retryAfter !== undefined) headers['retry-after'] = String(f.retryAfter);
      sendJson(
        res,
        f.status,
        { errors: [{ code: f.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: f.message }] },
        headers,
      );
    },
    reset: () => {
      ttl = 300;
    },
    control: (req, res, url, body) => {
      if (url.pathname === '/__control/token/ttl' && req.method === 'POST') {
        ttl = Number((JSON.parse(body.toString() || '{}') as { seconds?: number }).seconds ?? 300);
        sendJson(res, 200, { ok: true, ttl });
        return true;
      }
      return false;
    },
    handle: (req, res, meta) => {
      if (meta.url.pathname !== '/token') return sendJson(res, 404, { details: 'not found' });
      const form = req.method === 'POST' ? new URLSearchParams(meta.body.toString()) : new URLSearchParams();
      const q = meta.url.searchParams;
      const service = q.get('service') ?? form.get('service') ?? '';
      const scopes = parseScopes([...q.getAll('scope'), ...form.getAll('scope')]);
      let creds = basicCredentials(req);
      if (!creds && form.get('grant_type') === 'password')
        creds = { user: form.get('username') ?? '', password: form.get('password') ?? '' };
      meta.details.account = creds?.user ?? q.get('account') ?? null;
      meta.details.service = service;
      meta.details.scopes = scopes.map((s) => `${s.type}:${s.name}:${s.actions.join(',')}`);
      if (service && service !== cfg.registry.tokenService) return deny(res, 400, `unknown service ${service}`);
      if (!creds) return deny(res, 401, 'authentication required');
      if (creds.user !== cfg.registry.tokenUser || creds.password !== cfg.registry.tokenPassword)
        return deny(res, 401, 'incorrect username or password');
      const access = scopes
        .map((s) => ({
          ...s,
          actions: s.actions.filter(
            (a) => (GRANTABLE[s.type] ?? []).includes(a) || (a === '*' && s.type === 'repository'),
          ),
        }))
        .filter((s) => s.actions.length);
      meta.details.granted = access.map((s) => `${s.type}:${s.name}:${s.actions.join(',')}`);
      const now = Math.floor(Date.now() / 1000);
      const token = signJwt(key, {
        iss: cfg.registry.tokenIssuer,
        sub: creds.user,
        aud: cfg.registry.tokenService,
        exp: now + ttl,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      });
      sendJson(res, 200, {
        token,
        access_token: token,
        expires_in: ttl,
        issued_at: new Date(now * 1000).toISOString(),
      });
    },
  });
}
