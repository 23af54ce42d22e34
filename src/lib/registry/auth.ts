// Registry authentication (the Distribution token spec): parse a `WWW-Authenticate`
// challenge, and fetch one bearer token for every scope the caller will need, so a
// retag costs one token request however many manifests and blobs it touches.
import { ShiplineError, type ErrorKind } from '../util/errors';
import { classifyStatus } from '../util/retry';
import type { Credential } from './docker-config';
import type { HttpRequest, HttpSend } from '../util/http';

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** `Bearer realm="…",service="…",scope="a b"` → scheme + params (quoted values may hold commas). */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!))
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme, params };
}

/** `repository:<name>:<actions>` */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** Merges scopes so each resource appears once with the union of its actions. */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
    const last = s.lastIndexOf(':');
    if (last < 0) continue;
    const resource = s.slice(0, last);
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of s
      .slice(last + 1)
      .split(',')
      .filter(Boolean))
      set.add(a);
    byResource.set(resource, set);
  }
  const order = ['pull', 'push', 'delete', '*'];
  return [...byResource].map(
    ([r, acts]) => `${r}:${[...acts].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(',')}`,
  );
}

/** True when every scope in `wanted` is granted by `held` (same resource, actions ⊆). */
export function scopesCover(held: readonly string[], wanted: readonly string[]): boolean {
  const have = new Map(
    mergeScopes(held).map((s) => [s.slice(0, s.lastIndexOf(':')), new Set(s.slice(s.lastIndexOf(':') + 1).split(','))]),
  );
  return mergeScopes(wanted).every((s) => {
    const acts = have.get(s.slice(0, s.lastIndexOf(':')));
    return (
      !!acts &&
      s
        .slice(s.lastIndexOf(':') + 1)
        .split(',')
        .every((a) => acts.has(a) || acts.has('*'))
    );
  });
}

export interface Token {
  value: string;
  /** Epoch ms after which a new token is fetched. */
  expiresAt: number;
  scopes: string[];
}

/** Where credentials came from, for messages (never the value). */
export function describeSource(cred: Credential | undefined, configPath: string): string {
  return cred ? cred.source : `no credentials (anonymous; none found for this registry in ${configPath})`;
}

/**
 * What an HTTP status from a registry or its token server means: 401 auth, 403 denied,
 * 404 not-found, throttling/5xx transient (as retry classifies them), 400 invalid.
 */
export function statusKind(status: number): ErrorKind {
  if (classifyStatus(status).retry) return 'transient';
  if (status === 401) return 'auth';
  if (status === 403) return 'denied';
  if (status === 404) return 'not-found';
  if (status === 400) return 'invalid';
  return 'failed';
}

export interface TokenRequest {
  challenge: Challenge;
  scopes: string[];
  credential: Credential | undefined;
  registry: string;
  configPath: string;
  send: HttpSend;
  userAgent: string;
  now: () => number;
  timeoutMs: number;
}

/**
 * One token request for all scopes. Basic credentials go in the Authorization header
 * (docker's way, which every token server accepts); an identity token (`<token>` user)
 * is exchanged with the OAuth2 refresh_token grant.
 */
export async function fetchToken(req: TokenRequest): Promise<Token> {
  const realm = req.challenge.params.realm;
  if (!realm)
    throw new ShiplineError(
      `${req.registry} asked for a bearer token without saying where to get it (no realm in WWW-Authenticate)`,
      { kind: 'invalid', data: { registry: req.registry } },
    );
  const url = new URL(realm);
  const service = req.challenge.params.service;
  const headers: Record<string, string> = { 'user-agent': req.userAgent, accept: 'application/json' };
  let init: HttpRequest;
  if (req.credential && req.credential.username === '<token>') {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: req.credential.password,
      client_id: 'shipline',
    });
    if (service) form.set('service', service);
    if (req.scopes.length) form.set('scope', req.scopes.join(' '));
    init = {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      idleTimeoutMs: req.timeoutMs,
    };
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of req.scopes) url.searchParams.append('scope', s);
    if (req.credential)
      headers.authorization = `Basic ${Buffer.from(`${req.credential.username}:${req.credential.password}`).toString('base64')}`;
    init = { method: 'GET', headers, idleTimeoutMs: req.timeoutMs };
  }
  const res = await req.send(url.toString(), init);
  const text = await res.text();
  const server = `${url.origin}${url.pathname}`;
  if (res.status === 401 || res.status === 403) {
    const source = describeSource(req.credential, req.configPath);
    throw new ShiplineError(
      `the token server ${server} for ${req.registry} refused the credentials (HTTP ${res.status}); credential source: ${source}`,
      {
        kind: statusKind(res.status),
        hint: req.credential
          ? 'log in again (docker login) or check that the account may pull and push this repository'
          : 'log in first (docker login) so docker config.json holds credentials for this registry',
        data: {
          status: res.status,
          registry: req.registry,
          tokenServer: server,
          credentialSource: source,
          anonymous: !req.credential,
        },
      },
    );
  }
  if (res.status < 200 || res.status > 299) {
    throw new ShiplineError(`the token server ${server} answered HTTP ${res.status}: ${text.slice(0, 200)}`, {
      kind: statusKind(res.status),
      data: {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        registry: req.registry,
        tokenServer: server,
      },
    });
  }
  let body: { token?: string; access_token?: string; expires_in?: number };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ShiplineError(`the token server ${server} answered something that is not JSON`, {
      kind: 'invalid',
      data: { registry: req.registry, tokenServer: server },
    });
  }
  const value = body.token ?? body.access_token;
  if (!value)
    throw new ShiplineError(`the token server ${server} answered without a token`, {
      kind: 'invalid',
      data: { registry: req.registry, tokenServer: server },
    });
  // The spec's default lifetime is 60 s; renew 10 s early.
  const ttl = Math.max(10, body.expires_in ?? 60);
  return { value, expiresAt: req.now() + (ttl - 10) * 1000, scopes: req.scopes };
}
