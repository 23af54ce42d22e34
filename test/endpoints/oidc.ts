// Loopback OIDC issuer: discovery, JWKS, GitHub-runner-style token endpoint and a minting
// route (plus an exported function) for GitLab-style id_tokens, all signed by one RS256 key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { BenchConfig } from './config';
import { Endpoint, sendJson } from './control';
import { type Claims, type SigningKey, loadSigningKey, publicJwk, signJwt } from './jwt';

export type Flavor = 'github' | 'gitlab';

export interface MintOptions {
  flavor?: Flavor;
  /** Overrides / extra claims (take precedence over the flavor's defaults). */
  claims?: Claims;
  audience?: string | string[];
  ttlSeconds?: number;
  /** Issue a token that expired this many seconds ago. */
  expiredSecondsAgo?: number;
  /** Sign with a throwaway key the issuer does not publish (signature must be rejected). */
  foreignKey?: boolean;
  /** Issuer URL; defaults to TB_OIDC_URL. */
  issuer?: string;
  /** PEM file of the issuer key; defaults to TB_OIDC_KEY_FILE. */
  keyFile?: string;
}

export function githubClaims(issuer: string, audience: string | string[]): Claims {
  return {
    iss: issuer,
    aud: audience,
    sub: 'repo:shipline/shipline:ref:refs/heads/main',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: '0123456789abcdef0123456789abcdef01234567',
    repository: 'shipline/shipline',
    repository_id: '100001',
    repository_owner: 'shipline',
    repository_owner_id: '100000',
    repository_visibility: 'private',
    run_id: '4242',
    run_number: '7',
    run_attempt: '1',
    actor: 'octo',
    actor_id: '100002',
    workflow: 'ci',
    workflow_ref: 'shipline/shipline/.github/workflows/ci.yml@refs/heads/main',
    workflow_sha: '0123456789abcdef0123456789abcdef01234567',
    job_workflow_ref: 'shipline/shipline/.github/workflows/ci.yml@refs/heads/main',
    event_name: 'push',
    head_ref: '',
    base_ref: '',
    runner_environment: 'github-hosted',
  };
}

export function gitlabClaims(issuer: string, audience: string | string[]): Claims {
  return {
    iss: issuer,
    aud: audience,
    sub: 'project_path:shipline/shipline:ref_type:branch:ref:main',
    namespace_id: '200000',
    namespace_path: 'shipline',
    project_id: '200001',
    project_path: 'shipline/shipline',
    user_id: '200002',
    user_login: 'gitlab-user',
    user_email: 'gitlab-user@example.com',
    user_access_level: 'developer',
    pipeline_id: '5151',
    pipeline_source: 'push',
    job_id: '6161',
    ref: 'main',
    ref_type: 'branch',
    ref_path: 'refs/heads/main',
    ref_protected: 'true',
    runner_id: 7,
    runner_environment: 'gitlab-hosted',
    sha: '0123456789abcdef0123456789abcdef01234567',
    project_visibility: 'private',
    ci_config_ref_uri: 'gitlab.example.com/shipline/shipline//.gitlab-ci.yml@refs/heads/main',
    ci_config_sha: '0123456789abcdef0123456789abcdef01234567',
  };
}

let foreign: SigningKey | undefined;
function foreignSigningKey(): SigningKey {
  if (!foreign) {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    foreign = loadSigningKey(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  }
  return foreign;
}

export function mintWithKey(
  key: SigningKey,
  issuer: string,
  opts: MintOptions = {},
): { token: string; claims: Claims } {
  const flavor = opts.flavor ?? 'gitlab';
  const audience = opts.audience ?? 'sts.amazonaws.com';
  const now = Math.floor(Date.now() / 1000);
  const base = flavor === 'github' ? githubClaims(issuer, audience) : gitlabClaims(issuer, audience);
  const ttl = opts.ttlSeconds ?? 300;
  const times =
    opts.expiredSecondsAgo !== undefined
      ? {
          iat: now - opts.expiredSecondsAgo - ttl,
          nbf: now - opts.expiredSecondsAgo - ttl,
          exp: now - opts.expiredSecondsAgo,
        }
      : { iat: now, nbf: now - 5, exp: now + ttl };
  const claims: Claims = { jti: crypto.randomUUID(), ...base, ...times, ...opts.claims };
  const signer = opts.foreignKey ? foreignSigningKey() : key;
  return { token: signJwt(signer, claims), claims };
}

/** Mint an id_token from a test process (reads the issuer key written by `scripts/testbed up`). */
export function mintIdToken(opts: MintOptions = {}): string {
  const keyFile = opts.keyFile ?? process.env.TB_OIDC_KEY_FILE;
  const issuer = opts.issuer ?? process.env.TB_OIDC_URL;
  if (!keyFile || !issuer)
    throw new Error('mintIdToken needs TB_OIDC_KEY_FILE and TB_OIDC_URL (is the test bench up?)');
  return mintWithKey(loadSigningKey(fs.readFileSync(keyFile, 'utf8')), issuer, opts).token;
}

export interface OidcIssuer {
  endpoint: Endpoint;
  issuer: string;
  keys: () => SigningKey[];
}

export function createOidc(cfg: BenchConfig): OidcIssuer {
  const issuer = `http://${cfg.host}:${cfg.ports.oidc}`;
  const key = loadSigningKey(fs.readFileSync(cfg.oidc.keyFile, 'utf8'));
  let githubOverrides: Claims = {};

  const endpoint = new Endpoint({
    name: 'oidc',
    port: cfg.ports.oidc,
    classify: (_req, url) => url.pathname,
    reset: () => {
      githubOverrides = {};
    },
    control: (req, res, url, body) => {
      if (url.pathname === '/__control/oidc/claims' && req.method === 'POST') {
        githubOverrides = (JSON.parse(body.toString() || '{}') as { claims?: Claims }).claims ?? {};
        sendJson(res, 200, { ok: true, claims: githubOverrides });
        return true;
      }
      return false;
    },
    handle: (req, res, meta) => {
      const p = meta.url.pathname;
      if (p === '/.well-known/openid-configuration') {
        return sendJson(res, 200, {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository', 'project_path'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid'],
        });
      }
      if (p === '/.well-known/jwks') return sendJson(res, 200, { keys: [publicJwk(key)] });
      if (p === '/token' && req.method === 'GET') {
        const auth = req.headers.authorization ?? '';
        if (auth !== `Bearer ${cfg.oidc.githubRequestToken}`) {
          return sendJson(res, 401, {
            message: 'Unable to get ACTIONS_ID_TOKEN_REQUEST_TOKEN: bad or missing bearer token',
          });
        }
        const audience = meta.url.searchParams.get('audience') ?? 'https://github.com/shipline';
        meta.details.audience = audience;
        const { token } = mintWithKey(key, issuer, { flavor: 'github', audience, claims: githubOverrides });
        return sendJson(res, 200, { count: 1, value: token });
      }
      if (p === '/__mint' && req.method === 'POST') {
        const opts = JSON.parse(meta.body.toString() || '{}') as MintOptions;
        meta.details.flavor = opts.flavor ?? 'gitlab';
        return sendJson(res, 200, mintWithKey(key, issuer, opts));
      }
      sendJson(res, 404, { message: `not found: ${p}` });
    },
  });
  return { endpoint, issuer, keys: () => [key] };
}
