// Registry authentication (the Distribution token spec): parse a `WWW-Authenticate`
// challenge, and fetch one bearer token for every scope the caller will need, so a
// retag costs one token request however many manifests and blobs it touches.
import { ShiplineError, type ErrorKind } from '../util/errors';
import { classifyStatus } from '../util/retry';
import type { Credential } from './docker-config';
import type { HttpRequest, HttpSend } from '../util/http';
import { isLoopbackRegistry } from './reference';

/** The most a token server's answer may hold (tokens are a few KiB; Distribution's a few hundred bytes). */
export const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

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
  /** The registry's base URL (`https://host[:port]`): which realm may see the credential depends on it. */
  registryUrl: string;
  configPath: string;
  send: HttpSend;
  userAgent: string;
  now: () => number;
  timeoutMs: number;
  /** The total deadline of the token request (body included). */
  deadlineMs?: number;
}

/**
 * Whether a bearer realm may receive the registry's credential. docker sends it to any
 * realm the registry names; shipline only to a realm on HTTPS (the registry's own host or
 * another one, as Docker Hub's auth.docker.io), or on plain HTTP when the realm is on the
 * registry's own host name and that host is loopback or the registry itself is reached
 * over plain HTTP (an insecure registry already gets the credential in clear). A realm on
 * plain HTTP elsewhere (another host, or an HTTPS registry's own host) would put the
 * credential on the wire in clear, or in the hands of a host it does not belong to.
 */
export function realmMayReceiveCredential(realm: URL, registryUrl: URL): { ok: true } | { ok: false; why: string } {
  if (realm.protocol === 'https:') return { ok: true };
  const sameHost = realm.hostname.toLowerCase() === registryUrl.hostname.toLowerCase();
  if (!sameHost)
    return { ok: false, why: `it is on plain HTTP on another host than the registry (${registryUrl.host})` };
  if (isLoopbackRegistry(realm.host) || registryUrl.protocol === 'http:') return { ok: true };
  return { ok: false, why: 'it is on plain HTTP while the registry speaks HTTPS' };
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
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ShiplineError(`${req.registry} named a token server that is not an http(s) URL: ${realm.slice(0, 200)}`, {
      kind: 'invalid',
      data: { registry: req.registry, realm: realm.slice(0, 200), problem: 'bad-realm' },
    });
  if (req.credential) {
    const trust = realmMayReceiveCredential(url, new URL(req.registryUrl));
    if (!trust.ok) {
      const server = `${url.origin}${url.pathname}`;
      // Nothing is sent: an anonymous token would not do what the credential is there for.
      throw new ShiplineError(
        `${req.registry} asks for a token from ${server}, but ${trust.why}: shipline sends no credentials there (nothing was sent)`,
        {
          kind: 'invalid',
          hint: 'the registry must name a token server (realm) on HTTPS, or on plain HTTP only on its own host; check the registry configuration (auth.token.realm)',
          data: {
            registry: req.registry,
            realm: server,
            problem: 'untrusted-realm',
            reason: trust.why,
            credentialSource: req.credential.source,
          },
        },
      );
    }
  }
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
      ...(req.deadlineMs !== undefined ? { deadlineMs: req.deadlineMs } : {}),
    };
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of req.scopes) url.searchParams.append('scope', s);
    if (req.credential)
      headers.authorization = `Basic ${Buffer.from(`${req.credential.username}:${req.credential.password}`).toString('base64')}`;
    init = {
      method: 'GET',
      headers,
      idleTimeoutMs: req.timeoutMs,
      ...(req.deadlineMs !== undefined ? { deadlineMs: req.deadlineMs } : {}),
    };
  }
  const server = `${url.origin}${url.pathname}`;
  const res = await req.send(url.toString(), init);
  const text = await res.text({
    maxBytes: MAX_TOKEN_RESPONSE_BYTES,
    what: `the answer of the token server ${server} for ${req.registry}`,
  });
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
