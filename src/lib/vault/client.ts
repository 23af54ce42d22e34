// A small Vault HTTP client over util/http (node:http; fetch costs ~160 ms to start on Node 20): AppRole login, the mount probe that tells
// the KV version, KV v1/v2 reads, revoke-self. Every call retries only on throttling, 5xx
// (a sealed or standby Vault answers 503), timeouts and connection failures; errors name
// the path and never a value.
import { ShiplineError, errorMessage } from '../util/errors';
import { RetryExhausted, classifyStatus, isTransientNetworkError, retry } from '../util/retry';
import { nodeHttpSend, type HttpRequest, type HttpSend } from '../util/http';

export interface VaultClientOptions {
  url: string;
  namespace?: string;
  /** Attempts per request, the first included. */
  maxAttempts: number;
  deadlineMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (message: string) => void;
  send?: HttpSend;
}

export type KvVersion = '1' | '2';

export interface MountInfo {
  /** Mount path without a trailing slash, e.g. `secret` or `teams/ci`. */
  mount: string;
  version: KvVersion;
}

/** A non-2xx answer: status plus Vault's `errors` / `warnings` (never secret). */
export class VaultHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
    readonly warnings: string[],
    readonly retryAfter: string | null,
    readonly what: string,
  ) {
    super(`${what}: HTTP ${status}${errors.length ? ` (${errors.join('; ').replace(/\s+/g, ' ').trim()})` : ''}`);
  }
}

interface Envelope {
  data?: unknown;
  auth?: { client_token?: string; lease_duration?: number } | null;
  errors?: string[];
  warnings?: string[] | null;
}

export class VaultClient {
  private token: string | undefined;
  private readonly base: string;
  /** Requests made (attempts included), for logs and tests. */
  requests = 0;

  constructor(private readonly opts: VaultClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** The current token (to hand on with export-token). */
  tokenValue(): string {
    if (!this.token) throw new ShiplineError('not logged in to Vault');
    return this.token;
  }

  /** Continue with a token from an earlier phase (post revokes what main kept). */
  useToken(token: string): void {
    this.token = token;
  }

  private async once(method: string, apiPath: string, what: string, body?: unknown): Promise<Envelope> {
    const headers: Record<string, string> = { 'user-agent': 'shipline/vault-secrets', accept: 'application/json' };
    if (this.token) headers['x-vault-token'] = this.token;
    if (this.opts.namespace) headers['x-vault-namespace'] = this.opts.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req: HttpRequest = { method, headers, idleTimeoutMs: this.opts.timeoutMs ?? 30_000 };
    if (body !== undefined) req.body = JSON.stringify(body);
    this.requests++;
    const res = await (this.opts.send ?? nodeHttpSend)(`${this.base}/v1/${apiPath}`, req);
    const text = await res.text();
    let json: Envelope = {};
    try {
      json = text ? (JSON.parse(text) as Envelope) : {};
    } catch {
      // a proxy's HTML error page: the status says enough
    }
    if (res.status < 200 || res.status >= 300) throw new VaultHttpError(res.status, Array.isArray(json.errors) ? json.errors.map(String) : [], Array.isArray(json.warnings) ? json.warnings.map(String) : [], res.headers.get('retry-after'), what);
    return json;
  }

  private async call(method: string, apiPath: string, what: string, body?: unknown): Promise<Envelope> {
    try {
      return await retry(() => this.once(method, apiPath, what, body), {
        maxAttempts: this.opts.maxAttempts,
        deadlineMs: this.opts.deadlineMs ?? 60_000,
        classify: (err) => {
          if (err instanceof VaultHttpError) return classifyStatus(err.status, err.retryAfter);
          if (isTransientNetworkError(err)) return { retry: true, reason: networkReason(err) };
          return { retry: false };
        },
        ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}),
        onRetry: ({ attempt, delayMs, reason }) => this.opts.onRetry?.(`${what}: ${reason}; retrying in ${delayMs} ms (attempt ${attempt + 1} of ${this.opts.maxAttempts})`),
      });
    } catch (err) {
      throw this.unavailable(err, what);
    }
  }

  /** Sealed / unreachable / 5xx after the retries: one message that says which. */
  private unavailable(err: unknown, what: string): unknown {
    const last = err instanceof RetryExhausted ? err.lastError : err;
    const tries = err instanceof RetryExhausted ? ` after ${err.attempts} attempt${err.attempts === 1 ? '' : 's'}` : '';
    if (last instanceof VaultHttpError && last.status >= 500) {
      const sealed = last.status === 503 && last.errors.some((e) => /sealed/i.test(e));
      return new ShiplineError(`${what} failed${tries}: Vault at ${this.base} ${sealed ? 'is sealed' : `answered HTTP ${last.status}${last.errors.length ? ` (${last.errors.join('; ')})` : ''}`}`, {
        hint: sealed ? 'ask the Vault operators to unseal it, then re-run the job' : 'Vault or a proxy in front of it is failing; re-run later or raise retry-max-attempts',
        cause: last,
      });
    }
    if (last instanceof VaultHttpError && last.status === 429) {
      return new ShiplineError(`${what} failed${tries}: Vault at ${this.base} kept throttling (HTTP 429)`, { hint: 'raise retry-max-attempts or lower the request rate', cause: last });
    }
    if (!(last instanceof VaultHttpError) && isTransientNetworkError(last)) {
      return new ShiplineError(`${what} failed${tries}: could not reach Vault at ${this.base} (${networkReason(last)})`, {
        hint: 'check the url input / VAULT_ADDR and that the runner can reach Vault',
        cause: last,
      });
    }
    if (!(last instanceof VaultHttpError)) {
      const cause = (last as { cause?: unknown } | undefined)?.cause;
      return new ShiplineError(`${what} failed: ${errorMessage(last)}${cause ? ` (${errorMessage(cause)})` : ''}, Vault at ${this.base}`, { hint: 'check the url input / VAULT_ADDR', cause: last });
    }
    return last;
  }

  /** AppRole login; keeps the token for the following calls and returns it (to mask). */
  async login(authPath: string, roleId: string, secretId: string | undefined): Promise<string> {
    const mount = authPath.replace(/^\/+|\/+$/g, '').replace(/^auth\//, '');
    let env: Envelope;
    try {
      env = await this.call('POST', `auth/${mount}/login`, `AppRole login at auth/${mount}`, secretId === undefined ? { role_id: roleId } : { role_id: roleId, secret_id: secretId });
    } catch (err) {
      if (err instanceof VaultHttpError) {
        const detail = err.errors.join('; ') || `HTTP ${err.status}`;
        const noMount = err.status === 404 || /no handler for route/i.test(detail);
        throw new ShiplineError(`AppRole login at auth/${mount} failed: ${detail}`, {
          hint: noMount
            ? `no auth method is mounted at auth/${mount}; set auth-path to the AppRole mount`
            : 'check role-id and secret-id (a secret id may have expired or reached its use limit)',
        });
      }
      throw err;
    }
    const token = env.auth?.client_token;
    if (!token) throw new ShiplineError(`AppRole login at auth/${mount} returned no client token`, { hint: 'check that auth-path names an AppRole mount' });
    this.token = token;
    return token;
  }

  /** The mount holding `path` and its KV version, from the probe the Vault CLI uses. */
  async mountOf(path: string): Promise<MountInfo> {
    let env: Envelope;
    try {
      env = await this.call('GET', `sys/internal/ui/mounts/${encodePath(path)}`, `finding the secrets engine of '${path}'`);
    } catch (err) {
      if (err instanceof VaultHttpError && (err.status === 403 || err.status === 404)) {
        throw new ShiplineError(
          err.status === 403 ? `permission denied finding the secrets engine of '${path}' (no policy of this role reaches it)` : `no secrets engine is mounted at '${path}'`,
          { hint: `check the path; or set kv-version to 1 or 2 to skip this probe (the mount is then the first segment, or written as <mount>//<path>)` },
        );
      }
      throw err;
    }
    const data = (env.data ?? {}) as { type?: string; path?: string; options?: { version?: string } | null };
    const mount = (data.path ?? '').replace(/\/+$/, '');
    if (!mount) throw new ShiplineError(`Vault did not say which mount holds '${path}'`, { hint: 'set kv-version to 1 or 2' });
    if (data.type && data.type !== 'kv' && data.type !== 'generic') {
      throw new ShiplineError(`'${path}' is on a '${data.type}' secrets engine, not KV`, { hint: 'vault-secrets reads KV (v1 or v2) secrets' });
    }
    return { mount, version: data.options?.version === '2' ? '2' : '1' };
  }

  /** The key/value map stored at `<mount>/<rest>`. */
  async readKv(where: MountInfo, rest: string): Promise<Record<string, unknown>> {
    const full = `${where.mount}/${rest}`;
    const apiPath = where.version === '2' ? `${encodePath(where.mount)}/data/${encodePath(rest)}` : `${encodePath(where.mount)}/${encodePath(rest)}`;
    let env: Envelope;
    try {
      env = await this.call('GET', apiPath, `reading '${full}'`);
    } catch (err) {
      if (err instanceof VaultHttpError) throw readError(err, full, where);
      throw err;
    }
    if (where.version === '2') {
      const d = env.data as { data?: Record<string, unknown> | null; metadata?: { deletion_time?: string; destroyed?: boolean } } | undefined;
      if (!d?.data) {
        const gone = d?.metadata?.destroyed ? 'destroyed' : d?.metadata?.deletion_time ? 'deleted' : 'empty';
        throw new ShiplineError(`secret '${full}' has no current data (its latest version is ${gone})`, { hint: 'restore or write the secret, or point the variable elsewhere' });
      }
      return d.data;
    }
    return (env.data ?? {}) as Record<string, unknown>;
  }

  /** Revokes the token this client logged in with (best effort is the caller's choice). */
  async revokeSelf(): Promise<void> {
    if (!this.token) return;
    await this.call('POST', 'auth/token/revoke-self', 'revoking the Vault token');
    this.token = undefined;
  }
}

function readError(err: VaultHttpError, full: string, where: MountInfo): ShiplineError {
  if (err.status === 403) {
    return new ShiplineError(`permission denied reading '${full}'`, { hint: `the role's policies must allow read on ${where.version === '2' ? `${where.mount}/data/${full.slice(where.mount.length + 1)}` : full}` });
  }
  if (err.status === 404) {
    const versioned = err.warnings.some((w) => /versioned K\/V/i.test(w));
    const rest = full.slice(where.mount.length + 1);
    return new ShiplineError(`secret '${full}' not found${versioned ? ` (KV v${where.version} paths do not match this mount)` : ''}`, {
      hint: versioned
        ? 'set kv-version to auto, or to the version of the mount'
        : where.version === '2' && /^(data|metadata)\//.test(rest)
          ? `write the path without '${rest.split('/')[0]}/' (${where.mount}/${rest.replace(/^[^/]+\//, '')}): the step adds data/ for KV v2`
          : `check the path (mount '${where.mount}', KV v${where.version}); a mount of several segments is written <mount>//<path>/<key>`,
    });
  }
  return new ShiplineError(`reading '${full}' failed: ${err.message}`, { hint: 'see the Vault error above' });
}

function encodePath(p: string): string {
  return p.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/');
}

function networkReason(err: unknown): string {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: string }).code;
    if (code) return code;
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError') return 'timed out';
  }
  return errorMessage(err);
}
