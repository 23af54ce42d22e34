// The one HTTP layer of shipline (registry, Vault, STS query, GitHub's OIDC endpoint):
// node:http/https with keep-alive, not the global fetch. Measured on the bench machine, a cold `fetch` costs ~300 ms more than
// node:http before the first byte (undici compiles its WebAssembly HTTP parser on first
// use), which alone would be 4x a whole `skopeo copy`; node:http uses the built-in parser.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null; all(): Record<string, string> };
  text(): Promise<string>;
  buffer(): Promise<Buffer>;
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

function wrap(res: IncomingMessage): HttpResponse {
  let used = false;
  const take = () => {
    if (used) throw new Error('response body already read');
    used = true;
    return res;
  };
  const buffer = () =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const r = take();
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve(Buffer.concat(chunks)));
      r.on('error', reject);
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
    text: async () => (await buffer()).toString('utf8'),
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

/** Sends one request; GET/HEAD follow redirects (blob storage), without credentials to another host. */
export const nodeHttpSend: HttpSend = (url, req) => send(url, req, 0);

function send(url: string, req: HttpRequest, hops: number): Promise<HttpResponse> {
  const u = new URL(url);
  const { mod, agent } = transport(u.protocol);
  return new Promise<HttpResponse>((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (Buffer.isBuffer(req.body) || typeof req.body === 'string')
      headers['content-length'] = String(Buffer.byteLength(req.body));
    const r = mod.request(
      u,
      { method: req.method, headers, agent: agent as never, ...(req.signal ? { signal: req.signal } : {}) },
      (res) => {
        const location = res.headers.location;
        if (
          location &&
          REDIRECTS.has(res.statusCode ?? 0) &&
          (req.method === 'GET' || req.method === 'HEAD') &&
          hops < 5
        ) {
          res.resume();
          const next = new URL(location, u);
          const h = { ...req.headers };
          if (next.host !== u.host) delete h.authorization;
          send(next.toString(), { ...req, headers: h }, hops + 1).then(resolve, reject);
          return;
        }
        resolve(wrap(res));
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
    r.on('error', reject);
    const body = req.body;
    if (body === undefined) r.end();
    else if (Buffer.isBuffer(body) || typeof body === 'string') r.end(body);
    else {
      body.on('error', (e) => r.destroy(e));
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
  return {
    status,
    headers: { get: (n) => lower[n.toLowerCase()] ?? null, all: () => ({ ...lower }) },
    buffer: async () => (take(), bytes),
    text: async () => (take(), bytes.toString('utf8')),
    stream: () => (take(), Readable.from([bytes])),
    discard: async () => undefined,
  };
}
