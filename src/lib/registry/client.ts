// The registry transport (crane/regclient's idea): one client per registry owns the
// scheme, authentication (Basic, or one Bearer token for every scope the job needs,
// fetched once, shared by parallel requests and reused until it expires), classified
// retries honouring Retry-After, and a request log. The verbs in manifest.ts use it.
// Every failure is a ShiplineError classified by kind (auth, denied, not-found,
// transient…) with the status and every diagnostic the registry sent in its data.
import { classifyStatus, isTransientNetworkError, retry, type Verdict } from '../util/retry';
import { ShiplineError, errorMessage, isShiplineError } from '../util/errors';
import {
  describeSource,
  fetchToken,
  mergeScopes,
  parseChallenge,
  scopesCover,
  statusKind,
  type Challenge,
  type Token,
} from './auth';
import type { Credential } from './docker-config';
import {
  cannedResponse,
  DEFAULT_DEADLINE_MS,
  nodeHttpSend,
  type HttpResponse,
  type HttpSend,
  type ReadOptions,
} from '../util/http';
import type { Readable } from 'node:stream';
import { isLoopbackRegistry as isLoopback } from './reference';

export interface RegistryClientOptions {
  /** host[:port] as in the reference ('docker.io' for Docker Hub). */
  registry: string;
  /** Scopes asked for in the one token request, e.g. `repository:team/app:pull,push`. */
  scopes?: string[];
  /** Looked up once, only when the registry asks for credentials. */
  credential?: () => Promise<Credential | undefined>;
  /** The docker config path, named in errors. */
  configPath?: string;
  /** Plain HTTP for a non-loopback registry too. */
  insecure?: boolean;
  /** The HTTP layer (default node:http/https; tests pass a fake). */
  send?: HttpSend;
  debug?: (msg: string) => void;
  /** Called with every token or password before it is sent anywhere (masking). */
  secret?: (value: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  maxAttempts?: number;
  /** No retry starts after this many ms, and no attempt runs past it (default 60 s). */
  deadlineMs?: number;
  /** Idle timeout per request (headers and small bodies). Blob streams pass their own. */
  timeoutMs?: number;
  /** Total time of one attempt, body included (default DEFAULT_DEADLINE_MS, 30 s). Blob streams pass their own. */
  requestDeadlineMs?: number;
  userAgent?: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Statuses returned to the caller; any other throws a ShiplineError of the kind its status means. */
  ok?: number[];
  timeoutMs?: number;
  /** Total time of each attempt, body included, and of all attempts (a blob stream's hour). */
  deadlineMs?: number;
  /** Absolute URL (upload locations) instead of a /v2 path. */
  url?: string;
  /**
   * Read the body of a 2xx answer inside the attempt, with this cap (so a body that
   * trickles past the deadline is retried like a silent server); the response returned
   * holds the bytes read.
   */
  read?: ReadOptions & { maxBytes: number };
}

/** One entry of the `errors` array of a Distribution error response. */
interface RegistryDiagnostic {
  code?: string;
  message?: string;
  detail?: unknown;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

/** The most of an error body read for its diagnostics; a longer one is dropped. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Docker Hub's API host differs from the name in references. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

type Auth =
  | { scheme: 'basic'; header: string; source: string }
  | { scheme: 'bearer'; challenge: Challenge; token: Token | undefined; source: string }
  | { scheme: 'none' };

export class RegistryClient {
  readonly registry: string;
  readonly base: string;
  /** Every HTTP request sent to the registry (not the token server), in order. */
  readonly requests: LoggedRequest[] = [];
  tokenRequests = 0;
  private scopes: string[];
  private auth: Auth | undefined;
  private probe: Promise<void> | undefined;
  private tokenFetch: Promise<Token> | undefined;
  private cred: Promise<Credential | undefined> | undefined;
  private readonly s: HttpSend;
  private readonly now: () => number;
  private readonly ua: string;

  constructor(private readonly opts: RegistryClientOptions) {
    this.registry = opts.registry;
    const scheme = isLoopback(opts.registry) || opts.insecure ? 'http' : 'https';
    this.base = `${scheme}://${apiHost(opts.registry)}`;
    this.scopes = mergeScopes(opts.scopes ?? []);
    this.s = opts.send ?? nodeHttpSend;
    this.now = opts.now ?? Date.now;
    this.ua = opts.userAgent ?? 'shipline';
  }

  /** Adds scopes before the first token request (later ones trigger a new token). */
  private addScopes(scopes: string[]): void {
    this.scopes = mergeScopes([...this.scopes, ...scopes]);
  }

  /** The credential source used, for messages (never the value). */
  private async credentialSource(): Promise<string> {
    return describeSource(await this.credential(), this.opts.configPath ?? 'docker config');
  }

  private credential(): Promise<Credential | undefined> {
    this.cred ??= (this.opts.credential?.() ?? Promise.resolve(undefined)).then((c) => {
      if (c) this.opts.secret?.(c.password);
      return c;
    });
    return this.cred;
  }

  /** Sends a request with auth and retries; returns the response when its status is in `ok`. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const replayable = opts.body === undefined || Buffer.isBuffer(opts.body) || typeof opts.body === 'string';
    const shown = opts.url ? new URL(opts.url).pathname : path.replace(/\?.*$/, '');
    // Each attempt has its own deadline, and none runs past the deadline of all attempts.
    const perAttempt = opts.deadlineMs ?? this.opts.requestDeadlineMs ?? DEFAULT_DEADLINE_MS;
    const total = Math.max(this.opts.deadlineMs ?? 60_000, opts.deadlineMs ?? 0);
    const start = this.now();
    return retry(() => this.once(method, path, opts, Math.min(start + total, this.now() + perAttempt)), {
      what: `${method} ${this.base}${shown}`,
      hint: 'the registry kept failing or throttling; re-run the job later',
      maxAttempts: replayable ? (this.opts.maxAttempts ?? 4) : 1,
      deadlineMs: total,
      classify,
      ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}),
      now: this.now,
      onRetry: ({ attempt, delayMs, reason }) =>
        this.opts.debug?.(`${method} ${shown}: ${reason}; retry ${attempt} in ${delayMs} ms`),
    }).catch((err: unknown) => {
      if (isShiplineError(err) || typeof (err as { code?: unknown }).code !== 'string') throw err;
      // Not worth a retry, e.g. a TLS handshake with a registry that speaks plain HTTP.
      const plainHttp = this.base.startsWith('http:');
      throw new ShiplineError(`cannot reach ${this.base} (${method} ${shown}): ${errorMessage(err)}`, {
        hint: plainHttp
          ? 'check that the registry is running'
          : 'check the registry address, and whether it speaks TLS',
        cause: err,
        data: { registry: this.registry, unreachable: true, plainHttp },
      });
    });
  }

  /** One attempt, token fetch included, done by `until` (epoch ms). */
  private async once(method: string, path: string, opts: RequestOptions, until: number): Promise<HttpResponse> {
    const replayable = opts.body === undefined || Buffer.isBuffer(opts.body) || typeof opts.body === 'string';
    // The first request goes alone: parallel cold requests would each collect a 401.
    let release: (() => void) | undefined;
    if (!this.auth) {
      while (this.probe) await this.probe;
      if (!this.auth) this.probe = new Promise<void>((r) => (release = r));
    }
    try {
      let res = await this.send(method, path, opts, await this.authorization(until), until);
      if (res.status === 401) {
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        await res.discard();
        const sent = this.auth;
        await this.learn(challenge, sent);
        if (!replayable)
          throw new ShiplineError(`${this.registry} asked for credentials in the middle of an upload`, {
            kind: 'auth',
            data: { status: 401, registry: this.registry },
          });
        res = await this.send(method, path, opts, await this.authorization(until), until);
        if (res.status === 401) {
          await res.discard();
          throw await this.authError(
            `refused the credentials for ${method} ${path.replace(/\?.*$/, '')} (HTTP 401)`,
            'auth',
            'log in again (docker login) with an account that may pull and push this repository',
          );
        }
      }
      this.auth ??= { scheme: 'none' };
      if (!(opts.ok ?? [200]).includes(res.status)) throw await this.httpError(method, path, res);
      if (!opts.read || res.status < 200 || res.status > 299) return res;
      const bytes = await res.buffer(opts.read);
      return cannedResponse(res.status, res.headers.all(), bytes);
    } catch (err) {
      throw this.timedOut(err);
    } finally {
      if (release) {
        this.probe = undefined;
        release();
      }
    }
  }

  private async send(
    method: string,
    path: string,
    opts: RequestOptions,
    authorization: string | undefined,
    until: number,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'user-agent': this.ua, ...opts.headers };
    if (authorization) headers.authorization = authorization;
    const url = opts.url ?? `${this.base}${path}`;
    const started = this.now();
    const res = await this.s(url, {
      method,
      headers,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      idleTimeoutMs: opts.timeoutMs ?? this.opts.timeoutMs ?? 60_000,
      deadlineMs: this.left(until),
    });
    const shown = opts.url ? new URL(url).pathname : path.replace(/\?.*$/, '');
    this.requests.push({ method, path: shown, status: res.status });
    this.opts.debug?.(`registry ${this.registry}: ${method} ${shown} → ${res.status} (${this.now() - started} ms)`);
    return res;
  }

  /** A request past its deadline, as a transient ShiplineError naming the registry (data.timedOut). */
  private timedOut(err: unknown): unknown {
    const e = err as { deadline?: unknown; deadlineMs?: unknown } | undefined;
    if (!e?.deadline) return err;
    return new ShiplineError(errorMessage(err), {
      kind: 'transient',
      cause: err,
      data: { registry: this.registry, timedOut: true, deadlineMs: e.deadlineMs },
    });
  }

  /** What is left of an attempt's deadline (at least 1 s, so a slow clock in tests still sends). */
  private left(until: number): number {
    return Math.max(1000, until - this.now());
  }

  private async authorization(until: number): Promise<string | undefined> {
    const a = this.auth;
    if (!a || a.scheme === 'none') return undefined;
    if (a.scheme === 'basic') return a.header;
    if (!a.token || a.token.expiresAt <= this.now() || !scopesCover(a.token.scopes, this.scopes))
      a.token = await this.token(a.challenge, until);
    return `Bearer ${a.token.value}`;
  }

  /** One token fetch at a time; every waiting request shares its result. */
  private token(challenge: Challenge, until: number): Promise<Token> {
    this.tokenFetch ??= (async () => {
      try {
        const credential = await this.credential();
        this.tokenRequests++;
        const t = await fetchToken({
          challenge,
          scopes: this.scopes,
          credential,
          registry: this.registry,
          registryUrl: this.base,
          configPath: this.opts.configPath ?? 'docker config',
          send: this.s,
          userAgent: this.ua,
          now: this.now,
          timeoutMs: this.opts.timeoutMs ?? 60_000,
          deadlineMs: this.left(until),
        });
        this.opts.secret?.(t.value);
        this.opts.debug?.(
          `registry ${this.registry}: token for ${t.scopes.join(' ')} (${describeSource(credential, this.opts.configPath ?? 'docker config')})`,
        );
        return t;
      } finally {
        this.tokenFetch = undefined;
      }
    })();
    return this.tokenFetch;
  }

  /** Turns a 401 challenge into the auth to use next, or says why there is none. */
  private async learn(challenge: Challenge | undefined, sent: Auth | undefined): Promise<void> {
    if (!challenge)
      throw new ShiplineError(`${this.registry} answered 401 without a usable WWW-Authenticate challenge`, {
        kind: 'auth',
        data: { status: 401, registry: this.registry },
      });
    if (challenge.scheme === 'basic') {
      const c = await this.credential();
      if (!c) {
        const source = await this.credentialSource();
        throw new ShiplineError(`${this.registry} needs credentials and none were found (${source})`, {
          kind: 'auth',
          hint: 'log in first (docker login --password-stdin) so docker config.json holds credentials for this registry',
          data: { status: 401, registry: this.registry, credentialSource: source, anonymous: true },
        });
      }
      if (sent?.scheme === 'basic') {
        throw await this.authError(
          'refused the credentials (HTTP 401)',
          'auth',
          'log in again with a valid user and password',
        );
      }
      this.auth = {
        scheme: 'basic',
        header: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`,
        source: c.source,
      };
      return;
    }
    const asked = challenge.params.scope ? challenge.params.scope.split(' ') : [];
    const held = sent?.scheme === 'bearer' ? sent.token : undefined;
    if (held && scopesCover(held.scopes, asked) && held.expiresAt > this.now()) {
      throw await this.authError(
        `refused the token for ${held.scopes.join(' ')} (HTTP 401${challenge.params.error ? `, ${challenge.params.error}` : ''})`,
        'denied',
        'the account lacks pull/push access to this repository; grant it or log in with another account',
      );
    }
    this.addScopes(asked);
    this.auth = { scheme: 'bearer', challenge, token: undefined, source: '' };
  }

  /** `<registry> <what>; credential source: …`, with the source in data too. */
  private async authError(what: string, kind: 'auth' | 'denied', hint: string): Promise<ShiplineError> {
    const credential = await this.credential();
    const source = describeSource(credential, this.opts.configPath ?? 'docker config');
    return new ShiplineError(`${this.registry} ${what}; credential source: ${source}`, {
      kind,
      hint,
      data: { status: 401, registry: this.registry, credentialSource: source, anonymous: !credential },
    });
  }

  /** An unexpected status, with every diagnostic of the registry's `errors` array (message and data). */
  private async httpError(method: string, path: string, res: HttpResponse): Promise<ShiplineError> {
    // Capped: a registry's error page is diagnostics, not something to hold whole.
    const text = await res.text({ maxBytes: MAX_ERROR_BODY_BYTES }).catch(() => '');
    const diagnostics = parseDiagnostics(text);
    const codes = diagnostics.flatMap((d) => (d.code ? [d.code] : []));
    const said = diagnostics.length ? diagnostics.map(formatDiagnostic).join('; ') : text.slice(0, 300);
    const what = `${method} ${this.registry}${path.replace(/\?.*$/, '')}`;
    const hint =
      res.status === 403
        ? `the account (${await this.credentialSource()}) may not do this; grant push access or use another account`
        : res.status === 400 && codes.includes('MANIFEST_INVALID')
          ? 'the registry rejected the manifest; it may not support this media type'
          : undefined;
    return new ShiplineError(`${what} → HTTP ${res.status}${said ? ` (${said})` : ''}`, {
      kind: statusKind(res.status),
      hint,
      data: {
        status: res.status,
        registry: this.registry,
        method,
        path: path.replace(/\?.*$/, ''),
        codes,
        diagnostics,
        retryAfter: res.headers.get('retry-after'),
      },
    });
  }
}

/** The `errors` array of a Distribution error body, or [] when there is none. */
function parseDiagnostics(text: string): RegistryDiagnostic[] {
  try {
    const errors = (JSON.parse(text) as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.flatMap((e): RegistryDiagnostic[] => {
      if (!e || typeof e !== 'object') return [];
      const { code, message, detail } = e as Record<string, unknown>;
      return [
        {
          ...(typeof code === 'string' ? { code } : {}),
          ...(typeof message === 'string' ? { message } : {}),
          ...(detail !== undefined && detail !== null ? { detail } : {}),
        },
      ];
    });
  } catch {
    return []; // not JSON: the caller keeps the text
  }
}

/** `CODE: message (detail)`, the detail as JSON when it is not text, cut at 200 characters. */
function formatDiagnostic(d: RegistryDiagnostic): string {
  const detail = d.detail === undefined ? '' : typeof d.detail === 'string' ? d.detail : JSON.stringify(d.detail);
  const shown = detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
  return `${d.code ?? 'error'}${d.message ? `: ${d.message}` : ''}${shown ? ` (${shown})` : ''}`;
}

/** By kind: transient errors retry (honouring Retry-After), network failures too; nothing else. */
function classify(err: unknown): Verdict {
  if (isShiplineError(err)) {
    if (!err.retryable) return { retry: false };
    const { status, retryAfter } = err.data;
    const v =
      typeof status === 'number'
        ? classifyStatus(status, typeof retryAfter === 'string' ? retryAfter : null)
        : undefined;
    return v?.retry ? v : { retry: true, reason: err.message };
  }
  if (isTransientNetworkError(err)) return { retry: true, reason: errorMessage(err) };
  return { retry: false };
}
