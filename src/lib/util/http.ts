// The one HTTP layer of shipline (registry, Vault, STS query, GitHub's OIDC endpoint):
// node:http/https with keep-alive, not the global fetch. Measured on the bench machine, a cold `fetch` costs ~300 ms more than
// node:http before the first byte (undici compiles its WebAssembly HTTP parser on first
// use), which alone would be 4x a whole `skopeo copy`; node:http uses the built-in parser.
//
// Nothing a server sends is trusted to end: every request has a total deadline (connect,
// headers and the whole body, redirects included; default DEFAULT_DEADLINE_MS) besides the
// idle timeout, so a server trickling one byte at a time fails like a silent one; and a
// body read whole is read with a cap (default DEFAULT_MAX_BYTES), failing as soon as the
// announced or received size passes it, before buffering more.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ShiplineError } from './errors';

/** The total time one request may take, body included, unless the caller says otherwise. */
export const DEFAULT_DEADLINE_MS = 30_000;
/** The most `buffer()`/`text()` read without a `maxBytes` of their own (Vault's default max_request_size). */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

export interface ReadOptions {
  /** Fail (kind invalid, data.tooLarge) once the body announces or passes this many bytes. */
  maxBytes?: number;
  /** What the body is, for the error message (e.g. `the manifest of …`). */
  what?: string;
}

export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null; all(): Record<string, string> };
  text(opts?: ReadOptions): Promise<string>;
  buffer(opts?: ReadOptions): Promise<Buffer>;
  /** The body as a stream (to pipe into an upload); read it once. */
  stream(): Readable;
  /** Drop the body (keeps the connection reusable). */
  discard(): Promise<void>;
}

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: Buffer | string | Readable;
  /** No byte for this long fails the request (ETIMEDOUT, retried as transient). */
  idleTimeoutMs?: number;
  /**
   * The whole request, body included, must be done within this many ms (default
   * DEFAULT_DEADLINE_MS); else it fails with ETIMEDOUT (retried as transient) however
   * steadily bytes arrive. A streamed body (`stream()`) is bounded by it too.
   */
  deadlineMs?: number;
  /** Aborts the request (a per-attempt deadline). */
  signal?: AbortSignal;
}

export type HttpSend = (url: string, req: HttpRequest) => Promise<HttpResponse>;

type Mod = typeof import('node:http');
let httpMod: Mod | undefined;
let httpsMod: Mod | undefined;
const agents = new Map<string, unknown>();

function transport(protocol: string): { mod: Mod; agent: unknown } {
  const https = protocol === 'https:';
  // https (and TLS) is loaded only when a registry needs it.
  const mod = https ? (httpsMod ??= require('node:https') as Mod) : (httpMod ??= require('node:http') as Mod);
  let agent = agents.get(protocol);
  if (!agent) {
    agent = new mod.Agent({ keepAlive: true, maxSockets: 8 });
    agents.set(protocol, agent);
  }
  return { mod, agent };
}

/** The error of a body past its cap: kind invalid, with the limit and what was seen in data. */
export function tooLargeError(
  host: string,
  limit: number,
  seen: number,
  announced: boolean,
  what?: string,
): ShiplineError {
  const mib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`);
  return new ShiplineError(
    `${what ?? `the response from ${host}`} is larger than ${mib(limit)} (${announced ? `Content-Length ${seen}` : `more than ${seen} bytes received`}); not read further`,
    {
      kind: 'invalid',
      data: { tooLarge: true, host, limit, ...(announced ? { contentLength: seen } : { received: seen }) },
    },
  );
}

function wrap(res: IncomingMessage, host: string): HttpResponse {
  let used = false;
  const take = () => {
    if (used) throw new Error('response body already read');
    used = true;
    return res;
  };
  const buffer = (opts: ReadOptions = {}) =>
    new Promise<Buffer>((resolve, reject) => {
      const limit = opts.maxBytes ?? DEFAULT_MAX_BYTES;
      const r = take();
      const announced = Number(res.headers['content-length']);
      if (Number.isFinite(announced) && announced > limit) {
        r.destroy();
        return reject(tooLargeError(host, limit, announced, true, opts.what));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      r.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          chunks.length = 0;
          r.destroy();
          reject(tooLargeError(host, limit, limit, false, opts.what));
          return;
        }
        chunks.push(c);
      });
      r.on('end', () => resolve(Buffer.concat(chunks)));
      r.on('error', reject);
      // A destroyed response (the deadline) may close without 'error' or 'end'.
      r.on('close', () => {
        if (!r.readableEnded)
          reject(
            r.errored ?? Object.assign(new Error(`the response from ${host} was cut off`), { code: 'ECONNRESET' }),
          );
      });
    });
  return {
    status: res.statusCode ?? 0,
    headers: {
      get: (name) => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
      all: () =>
        Object.fromEntries(
          Object.entries(res.headers).flatMap(([k, v]) =>
            v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : v]],
          ),
        ),
    },
    buffer,
    text: async (opts) => (await buffer(opts)).toString('utf8'),
    stream: take,
    // Always drain: a complete but unread response still holds its keep-alive socket.
    discard: () =>
      new Promise<void>((resolve) => {
        if (used || res.readableEnded) return resolve();
        used = true;
        res.once('end', resolve);
        res.once('error', () => resolve());
        res.resume();
      }),
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Sends one request; GET/HEAD follow redirects (blob storage), without credentials to
 * another host or from HTTPS down to plain HTTP. The deadline spans every hop and the body.
 */
export const nodeHttpSend: HttpSend = (url, req) => {
  const deadlineMs = req.deadlineMs ?? DEFAULT_DEADLINE_MS;
  return send(url, req, 0, { until: Date.now() + deadlineMs, deadlineMs, done: false });
};

interface Deadline {
  until: number;
  deadlineMs: number;
  /** Set once the deadline fired (no further hop starts). */
  done: boolean;
}

function deadlineError(host: string, deadlineMs: number): Error {
  return Object.assign(
    new Error(`${host} did not answer completely within ${formatSeconds(deadlineMs)} (the request's deadline)`),
    { code: 'ETIMEDOUT', deadline: true, deadlineMs },
  );
}

const formatSeconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

function send(url: string, req: HttpRequest, hops: number, deadline: Deadline): Promise<HttpResponse> {
  const u = new URL(url);
  const { mod, agent } = transport(u.protocol);
  return new Promise<HttpResponse>((resolve, reject) => {
    const left = deadline.until - Date.now();
    if (deadline.done || left <= 0) return reject(deadlineError(u.host, deadline.deadlineMs));
    const headers: Record<string, string> = { ...req.headers };
    if (Buffer.isBuffer(req.body) || typeof req.body === 'string')
      headers['content-length'] = String(Buffer.byteLength(req.body));
    let response: IncomingMessage | undefined;
    let redirected = false;
    const timer = setTimeout(
      () => {
        deadline.done = true;
        const err = deadlineError(u.host, deadline.deadlineMs);
        // Destroying the response hands this error to whoever reads the body.
        if (response) response.destroy(err);
        else r.destroy(err);
      },
      Math.min(left, 2 ** 31 - 1),
    );
    timer.unref?.();
    const settle = () => clearTimeout(timer);
    const r = mod.request(
      u,
      { method: req.method, headers, agent: agent as never, ...(req.signal ? { signal: req.signal } : {}) },
      (res) => {
        response = res;
        const location = res.headers.location;
        if (
          location &&
          REDIRECTS.has(res.statusCode ?? 0) &&
          (req.method === 'GET' || req.method === 'HEAD') &&
          hops < 5
        ) {
          redirected = true;
          settle();
          res.resume();
          const next = new URL(location, u);
          const h = { ...req.headers };
          if (next.host !== u.host || (u.protocol === 'https:' && next.protocol !== 'https:')) delete h.authorization;
          send(next.toString(), { ...req, headers: h }, hops + 1, deadline).then(resolve, reject);
          return;
        }
        // The deadline keeps running until the body is read, discarded or fails.
        res.once('end', settle);
        res.once('close', settle);
        res.once('error', settle);
        resolve(wrap(res, u.host));
      },
    );
    r.setTimeout(req.idleTimeoutMs ?? 60_000, () =>
      r.destroy(
        Object.assign(
          new Error(`no response from ${u.host} within ${Math.round((req.idleTimeoutMs ?? 60_000) / 1000)} s`),
          { code: 'ETIMEDOUT' },
        ),
      ),
    );
    r.on('error', (e) => {
      if (!response || redirected) settle();
      reject(e);
    });
    const body = req.body;
    if (body === undefined) r.end();
    else if (Buffer.isBuffer(body) || typeof body === 'string') r.end(body);
    else {
      body.on('error', (e) => r.destroy(e));
      // A source destroyed without an error (or whose error came first) still ends the upload.
      body.on('close', () => {
        if (!body.readableEnded) r.destroy(body.errored ?? new Error('the upload source was cut off'));
      });
      body.pipe(r);
    }
  });
}

/** A canned response (tests, and fakes of the transport). */
export function cannedResponse(
  status: number,
  headers: Record<string, string> = {},
  body: Buffer | string = '',
): HttpResponse {
  const { Readable } = require('node:stream') as typeof import('node:stream');
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  let used = false;
  const take = () => {
    if (used) throw new Error('response body already read');
    used = true;
  };
  // The same cap as the real transport: a fake must fail where node:http would.
  const capped = (opts: ReadOptions = {}) => {
    take();
    const limit = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const announced = Number(lower['content-length']);
    if (Number.isFinite(announced) && announced > limit)
      throw tooLargeError('canned', limit, announced, true, opts.what);
    if (bytes.length > limit) throw tooLargeError('canned', limit, limit, false, opts.what);
    return bytes;
  };
  return {
    status,
    headers: { get: (n) => lower[n.toLowerCase()] ?? null, all: () => ({ ...lower }) },
    buffer: async (opts) => capped(opts),
    text: async (opts) => capped(opts).toString('utf8'),
    stream: () => (take(), Readable.from([bytes])),
    discard: async () => undefined,
  };
}
