// A small Vault HTTP client over util/http (node:http; fetch costs ~160 ms to start on Node 20): AppRole login, the mount probe that tells
// the KV version, KV v1/v2 reads, revoke-self. Every call retries only on throttling, 5xx
// (a sealed or standby Vault answers 503), timeouts and connection failures; errors name
// the path and never a value; hints that name the step's inputs are the step's (see VaultProblem).
import { causes, errorMessage, isShiplineError, ofKind, ShiplineError, type ErrorKind } from '../util/errors';
import { classifyStatus, isTransientNetworkError, retry } from '../util/retry';
import { DEFAULT_DEADLINE_MS, nodeHttpSend, type HttpRequest, type HttpSend } from '../util/http';

export interface VaultClientOptions {
  url: string;
  namespace?: string;
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** No retry starts after this many ms, and no attempt runs past it (default 60 s). */
  deadlineMs?: number;
  /** Idle timeout per request. */
  timeoutMs?: number;
  /** Total time of one request, body included (default DEFAULT_DEADLINE_MS). */
  requestDeadlineMs?: number;
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

/**
 * What went wrong, in `data.problem` of the errors this client throws, for the step to word
 * a hint: transient ones (sealed, unavailable, throttled, unreachable) come through
 * RetryExhausted with the last error's data.
 */
export type VaultProblem =
  | 'sealed'
  | 'unavailable'
  | 'throttled'
  | 'unreachable'
  | 'no-connection'
  | 'no-auth-mount'
  | 'login-rejected'
  | 'no-token'
  | 'probe-failed'
  | 'probe-unclear'
  | 'version-mismatch';

/** A non-2xx answer's detail, kept in `data` (never secret). */
interface HttpDetail {
  status: number;
  errors: string[];
  warnings: string[];
}

function httpDetail(err: unknown): HttpDetail | undefined {
  const d = isShiplineError(err) ? err.data : undefined;
  return d && typeof d.status === 'number' && Array.isArray(d.errors) && Array.isArray(d.warnings)
    ? (d as unknown as HttpDetail)
    : undefined;
}

const KIND_OF_STATUS: Record<number, ErrorKind> = { 401: 'auth', 403: 'denied', 404: 'not-found' };

interface Envelope {
  data?: unknown;
  auth?: { client_token?: string; lease_duration?: number } | null;
  errors?: string[];
  warnings?: string[] | null;
}

export class VaultClient {
  private token: string | undefined;
  private readonly base: string;
  constructor(private readonly opts: VaultClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** The current token (for a caller that hands it on to later commands). */
  tokenValue(): string {
    if (!this.token) throw new ShiplineError('not logged in to Vault', { kind: 'bug' });
    return this.token;
  }

  /** Continue with a token from an earlier phase (post revokes what main kept). */
  useToken(token: string): void {
    this.token = token;
  }

  /** One attempt, done (body read) by `until` (epoch ms). */
  private async once(method: string, apiPath: string, what: string, until: number, body?: unknown): Promise<Envelope> {
    const headers: Record<string, string> = { 'user-agent': 'shipline/vault-secrets', accept: 'application/json' };
    if (this.token) headers['x-vault-token'] = this.token;
    if (this.opts.namespace) headers['x-vault-namespace'] = this.opts.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req: HttpRequest = {
      method,
      headers,
      idleTimeoutMs: this.opts.timeoutMs ?? 30_000,
      deadlineMs: Math.max(1000, until - Date.now()),
    };
    if (body !== undefined) req.body = JSON.stringify(body);
    let res: Awaited<ReturnType<HttpSend>>;
    let text: string;
    try {
      res = await (this.opts.send ?? nodeHttpSend)(`${this.base}/v1/${apiPath}`, req);
      // Read inside the attempt: a body that trickles past the deadline fails like no answer.
      text = await res.text();
    } catch (err) {
      if (isShiplineError(err)) throw err; // a body past its cap (kind invalid)
      throw this.connectionError(err, what);
    }
    let json: Envelope = {};
    try {
      json = text ? (JSON.parse(text) as Envelope) : {};
    } catch {
      // a proxy's HTML error page: the status says enough
    }
    if (res.status < 200 || res.status >= 300) {
      const errors = Array.isArray(json.errors) ? json.errors.map(String) : [];
      const warnings = Array.isArray(json.warnings) ? json.warnings.map(String) : [];
      throw this.statusError({ status: res.status, errors, warnings }, res.headers.get('retry-after'), what);
    }
    return json;
  }

  /** A non-2xx answer: transient (sealed, 5xx, 429) says so of this Vault; others name the call. */
  private statusError(detail: HttpDetail, retryAfter: string | null, what: string): ShiplineError {
    const { status, errors } = detail;
    const said = errors.join('; ').replace(/\s+/g, ' ').trim();
    const data = { ...detail, retryAfter };
    if (classifyStatus(status).retry) {
      const sealed = status === 503 && errors.some((e) => /sealed/i.test(e));
      if (sealed)
        return new ShiplineError(`Vault at ${this.base} is sealed`, {
          kind: 'transient',
          hint: 'ask the Vault operators to unseal it, then re-run the job',
          data: { ...data, problem: 'sealed' },
        });
      if (status === 429)
        return new ShiplineError(`Vault at ${this.base} is throttling requests (HTTP 429)`, {
          kind: 'transient',
          data: { ...data, problem: 'throttled' },
        });
      return new ShiplineError(`Vault at ${this.base} answered HTTP ${status}${said ? ` (${said})` : ''}`, {
        kind: 'transient',
        data: { ...data, problem: 'unavailable' },
      });
    }
    return new ShiplineError(`${what}: HTTP ${status}${said ? ` (${said})` : ''}`, {
      kind: KIND_OF_STATUS[status] ?? 'failed',
      data,
    });
  }

  /** No answer at all: unreachable (worth another try) or a request that cannot be sent. */
  private connectionError(err: unknown, what: string): ShiplineError {
    const late = (err as { deadline?: unknown; deadlineMs?: unknown } | undefined)?.deadline === true;
    if (late) {
      const ms = Number((err as { deadlineMs?: unknown }).deadlineMs);
      return new ShiplineError(`Vault at ${this.base} did not answer completely within ${Math.round(ms / 1000)} s`, {
        kind: 'transient',
        cause: err,
        data: { problem: 'unreachable', reason: `the ${Math.round(ms / 1000)} s deadline of a request passed` },
      });
    }
    if (isTransientNetworkError(err)) {
      return new ShiplineError(`could not reach Vault at ${this.base}`, {
        kind: 'transient',
        cause: err,
        data: { problem: 'unreachable', reason: networkReason(err) },
      });
    }
    const cause = (err as { cause?: unknown } | undefined)?.cause;
    return new ShiplineError(
      `${what} failed: ${errorMessage(err)}${cause ? ` (${errorMessage(cause)})` : ''}, Vault at ${this.base}`,
      { cause: err, data: { problem: 'no-connection' } },
    );
  }

  private call(method: string, apiPath: string, what: string, body?: unknown): Promise<Envelope> {
    // Each attempt has its own deadline, and none runs past the deadline of all attempts.
    const total = this.opts.deadlineMs ?? 60_000;
    const perAttempt = this.opts.requestDeadlineMs ?? DEFAULT_DEADLINE_MS;
    const start = Date.now();
    return retry(() => this.once(method, apiPath, what, Math.min(start + total, Date.now() + perAttempt), body), {
      what,
      maxAttempts: this.opts.maxAttempts,
      deadlineMs: total,
      classify: (err) => {
        const e = ofKind(err, 'transient');
        if (!e) return { retry: false };
        return typeof e.data.status === 'number'
          ? classifyStatus(e.data.status, e.data.retryAfter as string | null)
          : { retry: true, reason: String(e.data.reason) };
      },
      ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}),
      onRetry: ({ attempt, delayMs, reason }) =>
        this.opts.onRetry?.(
          `${what}: ${reason}; retrying in ${delayMs} ms (attempt ${attempt + 1} of ${this.opts.maxAttempts})`,
        ),
    });
  }

  /** AppRole login; keeps the token for the following calls and returns it (to mask). */
  async login(authPath: string, roleId: string, secretId: string | undefined): Promise<string> {
    const mount = authPath.replace(/^\/+|\/+$/g, '').replace(/^auth\//, '');
    let env: Envelope;
    try {
      env = await this.call(
        'POST',
        `auth/${mount}/login`,
        `AppRole login at auth/${mount}`,
        secretId === undefined ? { role_id: roleId } : { role_id: roleId, secret_id: secretId },
      );
    } catch (err) {
      const http = httpDetail(err);
      if (!http || ofKind(err, 'transient')) throw err;
      const detail = http.errors.join('; ') || `HTTP ${http.status}`;
      const noMount = http.status === 404 || /no handler for route/i.test(detail);
      throw new ShiplineError(`AppRole login at auth/${mount} failed: ${detail}`, {
        kind: noMount ? 'not-found' : 'auth',
        hint: noMount
          ? `no auth method is mounted at auth/${mount}`
          : 'a secret id may have expired or reached its use limit',
        cause: err,
        data: { ...http, mount, problem: noMount ? 'no-auth-mount' : 'login-rejected' },
      });
    }
    const token = env.auth?.client_token;
    if (!token)
      throw new ShiplineError(`AppRole login at auth/${mount} returned no client token`, {
        kind: 'invalid',
        data: { mount, problem: 'no-token' },
      });
    this.token = token;
    return token;
  }

  /** The mount holding `path` and its KV version, from the probe the Vault CLI uses. */
  async mountOf(path: string): Promise<MountInfo> {
    let env: Envelope;
    try {
      env = await this.call(
        'GET',
        `sys/internal/ui/mounts/${encodePath(path)}`,
        `finding the secrets engine of '${path}'`,
      );
    } catch (err) {
      const status = httpDetail(err)?.status;
      if (status === 403 || status === 404) {
        throw new ShiplineError(
          status === 403
            ? `permission denied finding the secrets engine of '${path}' (no policy of this role reaches it)`
            : `no secrets engine is mounted at '${path}'`,
          {
            kind: status === 403 ? 'denied' : 'not-found',
            hint: 'check the path',
            cause: err,
            data: { status, path, problem: 'probe-failed' },
          },
        );
      }
      throw err;
    }
    const data = (env.data ?? {}) as { type?: string; path?: string; options?: { version?: string } | null };
    const mount = (data.path ?? '').replace(/\/+$/, '');
    if (!mount)
      throw new ShiplineError(`Vault did not say which mount holds '${path}'`, {
        kind: 'invalid',
        data: { path, problem: 'probe-unclear' },
      });
    if (data.type && data.type !== 'kv' && data.type !== 'generic') {
      throw new ShiplineError(`'${path}' is on a '${data.type}' secrets engine, not KV`, {
        kind: 'invalid',
        hint: 'only KV (v1 or v2) secrets can be read',
        data: { path, type: data.type },
      });
    }
    return { mount, version: data.options?.version === '2' ? '2' : '1' };
  }

  /** The key/value map stored at `<mount>/<rest>`. */
  async readKv(where: MountInfo, rest: string): Promise<Record<string, unknown>> {
    const full = `${where.mount}/${rest}`;
    const apiPath =
      where.version === '2'
        ? `${encodePath(where.mount)}/data/${encodePath(rest)}`
        : `${encodePath(where.mount)}/${encodePath(rest)}`;
    let env: Envelope;
    try {
      env = await this.call('GET', apiPath, `reading '${full}'`);
    } catch (err) {
      const http = httpDetail(err);
      if (http && !ofKind(err, 'transient')) throw readError(err, http, full, where);
      throw err;
    }
    if (where.version === '2') {
      const d = env.data as
        | { data?: Record<string, unknown> | null; metadata?: { deletion_time?: string; destroyed?: boolean } }
        | undefined;
      if (!d?.data) {
        const gone = d?.metadata?.destroyed ? 'destroyed' : d?.metadata?.deletion_time ? 'deleted' : 'empty';
        throw new ShiplineError(`secret '${full}' has no current data (its latest version is ${gone})`, {
          kind: 'not-found',
          hint: 'restore or write the secret, or point the variable elsewhere',
        });
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

function readError(err: unknown, http: HttpDetail, full: string, where: MountInfo): ShiplineError {
  const data = { ...http, path: full, mount: where.mount, version: where.version };
  if (http.status === 403) {
    const policyPath = where.version === '2' ? `${where.mount}/data/${full.slice(where.mount.length + 1)}` : full;
    return new ShiplineError(`permission denied reading '${full}'`, {
      kind: 'denied',
      hint: `the role's policies must allow read on ${policyPath}`,
      cause: err,
      data,
    });
  }
  if (http.status === 404) {
    const versioned = http.warnings.some((w) => /versioned K\/V/i.test(w));
    const rest = full.slice(where.mount.length + 1);
    return new ShiplineError(
      `secret '${full}' not found${versioned ? ` (KV v${where.version} paths do not match this mount)` : ''}`,
      {
        kind: 'not-found',
        cause: err,
        data: versioned ? { ...data, problem: 'version-mismatch' } : data,
        ...(versioned
          ? {}
          : {
              hint:
                where.version === '2' && /^(data|metadata)\//.test(rest)
                  ? `write the path without '${rest.split('/')[0]}/' (${where.mount}/${rest.replace(/^[^/]+\//, '')}): the step adds data/ for KV v2`
                  : `check the path (mount '${where.mount}', KV v${where.version}); a mount of several segments is written <mount>//<path>/<key>`,
            }),
      },
    );
  }
  return new ShiplineError(`reading '${full}' failed: ${errorMessage(err)}`, {
    kind: isShiplineError(err) ? err.kind : 'failed',
    cause: err,
    data,
  });
}

function encodePath(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

function networkReason(err: unknown): string {
  for (const e of causes(err)) {
    const code = (e as { code?: string }).code;
    if (code) return code;
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError') return 'timed out';
  }
  return errorMessage(err);
}
