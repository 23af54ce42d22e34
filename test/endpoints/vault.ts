// Loopback HashiCorp Vault subset: AppRole login, KV v2 and KV v1 reads, token
// lookup/revoke, health, the UI mounts probe clients use to detect the KV version,
// policies (403 outside them) and a sealed-mode knob.
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BenchConfig } from './config';
import { Endpoint, type FaultRender, sendJson } from './control';

interface Token {
  id: string;
  accessor: string;
  policies: string[];
  expiresAt: number;
  role: string;
}

interface KvEntry {
  versions: { data: Record<string, unknown>; created: string }[];
}

interface Mount {
  path: string;
  type: 'kv';
  version: '1' | '2';
}

const MOUNTS: Mount[] = [
  { path: 'secret/', type: 'kv', version: '2' },
  { path: 'kv/', type: 'kv', version: '1' },
];

/** Policy `shipline-read`: what an AppRole token may read (glob with trailing *). */
const POLICIES: Record<string, string[]> = {
  'shipline-read': ['secret/data/fake-app/*', 'secret/metadata/fake-app/*', 'secret/data/shared/*', 'kv/fake-app/*'],
  default: ['auth/token/lookup-self', 'auth/token/revoke-self', 'sys/internal/ui/mounts/*'],
};

const allowed = (policies: string[], path: string) =>
  policies.some((p) =>
    (POLICIES[p] ?? []).some((rule) => (rule.endsWith('*') ? path.startsWith(rule.slice(0, -1)) : path === rule)),
  );

const envelope = (extra: Record<string, unknown>) => ({
  request_id: crypto.randomUUID(),
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data: null,
  wrap_info: null,
  warnings: null,
  auth: null,
  ...extra,
});

export interface VaultSeed {
  /** Values the tests can compare with (random per bench start). */
  fakeUserPassword: string;
  dbPassword: string;
  legacyToken: string;
}

export function createVault(cfg: BenchConfig): { endpoint: Endpoint; seed: VaultSeed } {
  const seed: VaultSeed = {
    fakeUserPassword: `vault-pw-${crypto.randomBytes(9).toString('hex')}`,
    dbPassword: `vault-db-${crypto.randomBytes(9).toString('hex')}`,
    legacyToken: `vault-legacy-${crypto.randomBytes(9).toString('hex')}`,
  };
  const roles: Record<string, { roleId: string; secretId: string; policies: string[]; name: string }[]> = {
    approle: [
      {
        name: 'shipline',
        roleId: cfg.vault.roleId,
        secretId: cfg.vault.secretId,
        policies: ['default', 'shipline-read'],
      },
    ],
    'ci-approle': [
      {
        name: 'shipline-ci',
        roleId: cfg.vault.ciRoleId,
        secretId: cfg.vault.ciSecretId,
        policies: ['default', 'shipline-read'],
      },
    ],
  };
  const tokens = new Map<string, Token>();
  let sealed = false;
  let store = new Map<string, KvEntry>();

  const now = () => new Date().toISOString();
  const put = (path: string, data: Record<string, unknown>) => {
    const e = store.get(path) ?? { versions: [] };
    e.versions.push({ data, created: now() });
    store.set(path, e);
  };
  const seedData = () => {
    store = new Map();
    put('secret/fake-app/users/fake-user', { username: 'fake-user', password: seed.fakeUserPassword });
    put('secret/fake-app/db', { host: 'db.internal', port: '5432', password: seed.dbPassword });
    put('secret/shared/registry', { user: 'shipline', url: 'https://registry.example.com' });
    put('secret/other-app/api', { key: 'not-for-shipline' });
    put('kv/fake-app/legacy', { token: seed.legacyToken });
  };
  seedData();

  const error = (res: ServerResponse, status: number, ...errors: string[]) => sendJson(res, status, { errors });

  const tokenOf = (req: IncomingMessage): Token | undefined => {
    const raw =
      (req.headers['x-vault-token'] as string | undefined) ??
      /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!raw) return undefined;
    const t = tokens.get(raw);
    if (!t) return undefined;
    if (t.expiresAt <= Date.now()) {
      tokens.delete(raw);
      return undefined;
    }
    return t;
  };

  function login(res: ServerResponse, mount: string, body: Buffer): void {
    const list = roles[mount];
    if (!list) return error(res, 404, `no handler for route "auth/${mount}/login". route entry not found.`);
    let input: { role_id?: string; secret_id?: string };
    try {
      input = JSON.parse(body.toString() || '{}') as typeof input;
    } catch {
      return error(res, 400, 'failed to parse JSON input');
    }
    if (!input.role_id) return error(res, 400, 'missing role_id');
    const role = list.find((r) => r.roleId === input.role_id);
    if (!role || role.secretId !== input.secret_id) return error(res, 400, 'invalid role or secret ID');
    const t: Token = {
      id: `hvs.${crypto.randomBytes(18).toString('base64url')}`,
      accessor: crypto.randomBytes(12).toString('hex'),
      policies: role.policies,
      expiresAt: Date.now() + 3600_000,
      role: role.name,
    };
    tokens.set(t.id, t);
    sendJson(
      res,
      200,
      envelope({
        auth: {
          client_token: t.id,
          accessor: t.accessor,
          policies: t.policies,
          token_policies: t.policies,
          metadata: { role_name: role.name },
          lease_duration: 3600,
          renewable: true,
          entity_id: crypto.randomUUID(),
          token_type: 'service',
          orphan: true,
          mfa_requirement: null,
          num_uses: 0,
        },
      }),
    );
  }

  function kvRead(res: ServerResponse, token: Token, apiPath: string, url: URL, list: boolean): void {
    const mount = MOUNTS.find((m) => apiPath.startsWith(m.path));
    if (!mount) return error(res, 404, `no handler for route "${apiPath}". route entry not found.`);
    if (!allowed(token.policies, apiPath)) return error(res, 403, '1 error occurred:\n\t* permission denied\n\n');
    const rest = apiPath.slice(mount.path.length);
    if (mount.version === '2') {
      const m = /^(data|metadata)\/(.*)$/.exec(rest);
      if (!m) {
        return sendJson(res, 404, {
          errors: [],
          warnings: [
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.",
          ],
        });
      }
      const key = `${mount.path}${m[2]}`.replace(/\/$/, '');
      if (list) {
        const prefix = `${key}/`;
        const keys = [
          ...new Set(
            [...store.keys()]
              .filter((k) => k.startsWith(prefix))
              .map((k) => k.slice(prefix.length).replace(/\/.*$/, '/')),
          ),
        ];
        if (!keys.length) return error(res, 404);
        return sendJson(res, 200, envelope({ data: { keys } }));
      }
      const e = store.get(key);
      if (!e) return error(res, 404);
      if (m[1] === 'metadata') {
        return sendJson(
          res,
          200,
          envelope({
            data: {
              current_version: e.versions.length,
              versions: Object.fromEntries(
                e.versions.map((v, i) => [
                  String(i + 1),
                  { created_time: v.created, deletion_time: '', destroyed: false },
                ]),
              ),
            },
          }),
        );
      }
      const wanted = Number(url.searchParams.get('version') ?? e.versions.length) || e.versions.length;
      const v = e.versions[wanted - 1];
      if (!v) return error(res, 404);
      return sendJson(
        res,
        200,
        envelope({
          data: {
            data: v.data,
            metadata: {
              created_time: v.created,
              custom_metadata: null,
              deletion_time: '',
              destroyed: false,
              version: wanted,
            },
          },
        }),
      );
    }
    const key = `${mount.path}${rest}`.replace(/\/$/, '');
    if (list) {
      const prefix = `${key}/`;
      const keys = [
        ...new Set(
          [...store.keys()]
            .filter((k) => k.startsWith(prefix))
            .map((k) => k.slice(prefix.length).replace(/\/.*$/, '/')),
        ),
      ];
      if (!keys.length) return error(res, 404);
      return sendJson(res, 200, envelope({ data: { keys } }));
    }
    const e = store.get(key);
    if (!e) return error(res, 404);
    sendJson(res, 200, envelope({ lease_duration: 2764800, data: e.versions[e.versions.length - 1]!.data }));
  }

  const endpoint = new Endpoint({
    name: 'vault',
    port: cfg.ports.vault,
    classify: (req, url) => `${req.method} ${url.pathname}`,
    renderFault: (res, f: FaultRender) => {
      const headers: Record<string, string> = {};
      if (f.retryAfter !== undefined) headers['retry-after'] = String(f.retryAfter);
      sendJson(res, f.status, { errors: [f.message] }, headers);
    },
    reset: () => {
      sealed = false;
      seedData();
    },
    control: (req, res, url, body) => {
      if (url.pathname === '/__control/vault/seal' && req.method === 'POST') {
        sealed = (JSON.parse(body.toString() || '{}') as { sealed?: boolean }).sealed ?? true;
        sendJson(res, 200, { ok: true, sealed });
        return true;
      }
      if (url.pathname === '/__control/vault/secrets' && req.method === 'POST') {
        const { path, data } = JSON.parse(body.toString()) as { path: string; data: Record<string, unknown> };
        put(path.replace(/^\/+|\/+$/g, ''), data);
        sendJson(res, 200, { ok: true });
        return true;
      }
      if (url.pathname === '/__control/vault/seed' && req.method === 'GET') {
        sendJson(res, 200, seed);
        return true;
      }
      if (url.pathname === '/__control/vault/tokens' && req.method === 'GET') {
        sendJson(res, 200, { active: tokens.size });
        return true;
      }
      return false;
    },
    handle: (req, res, meta) => {
      const p = meta.url.pathname;
      if (p === '/v1/sys/health') {
        const body = {
          initialized: true,
          sealed,
          standby: false,
          performance_standby: false,
          replication_performance_mode: 'disabled',
          replication_dr_mode: 'disabled',
          server_time_utc: Math.floor(Date.now() / 1000),
          version: '1.15.6',
          cluster_name: 'shipline-bench',
          cluster_id: 'bench',
        };
        return sendJson(res, sealed ? 503 : 200, body);
      }
      if (sealed) return error(res, 503, 'Vault is sealed');
      if (!p.startsWith('/v1/')) return error(res, 404);
      const apiPath = p.slice(4);
      const login_ = /^auth\/(.+)\/login$/.exec(apiPath);
      if (login_ && req.method === 'POST') return login(res, login_[1]!, meta.body);
      const token = tokenOf(req);
      if (!token) return error(res, 403, 'permission denied');
      meta.details.role = token.role;
      if (apiPath === 'auth/token/revoke-self' && req.method === 'POST') {
        tokens.delete(token.id);
        res.writeHead(204).end();
        return;
      }
      if (apiPath === 'auth/token/lookup-self') {
        return sendJson(
          res,
          200,
          envelope({
            data: {
              accessor: token.accessor,
              policies: token.policies,
              ttl: Math.floor((token.expiresAt - Date.now()) / 1000),
              display_name: `approle-${token.role}`,
              meta: { role_name: token.role },
            },
          }),
        );
      }
      const ui = /^sys\/internal\/ui\/mounts\/(.*)$/.exec(apiPath);
      if (ui) {
        const mount = MOUNTS.find((m) => `${ui[1]}/`.startsWith(m.path));
        if (!mount)
          return error(
            res,
            403,
            `preflight capability check returned 403, please ensure client's policies grant access to path "${ui[1]}/"`,
          );
        return sendJson(
          res,
          200,
          envelope({
            data: {
              type: mount.type,
              options: { version: mount.version },
              path: mount.path,
              description: 'key/value secret storage',
              accessor: `kv_${mount.version}bench`,
              config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
              local: false,
              seal_wrap: false,
              external_entropy_access: false,
              uuid: 'bench',
            },
          }),
        );
      }
      const list = req.method === 'LIST' || meta.url.searchParams.get('list') === 'true';
      if (req.method === 'GET' || req.method === 'LIST') return kvRead(res, token, apiPath, meta.url, list);
      return error(res, 405, `unsupported operation ${req.method} on ${apiPath} in the test bench`);
    },
  });
  return { endpoint, seed };
}
