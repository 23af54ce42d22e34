// A fetch-shaped HTTP client over node:http/https. On Node 20 the first global fetch()
// costs ~160 ms (it loads undici), more than a whole step; node:http costs ~13 ms. It
// covers what our clients use: method, headers, a string/Buffer/web-stream body, a
// signal, redirects (Authorization dropped when the host changes), and a response with
// status, headers.get, text/json/arrayBuffer and a lazily created web-stream body.
import type { IncomingMessage } from 'node:http';

export interface LightRequestInit {
  method?: string;
  headers?: Record<string, string> | [string, string][];
  body?: string | Buffer | Uint8Array | ReadableStream<Uint8Array> | null;
  signal?: AbortSignal | null;
  redirect?: 'follow' | 'manual' | 'error';
  duplex?: 'half';
}

export interface LightResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type FetchLike = (url: string | URL, init?: LightRequestInit) => Promise<LightResponse>;

const MAX_REDIRECTS = 5;

function headerList(h: LightRequestInit['headers']): Record<string, string> {
  if (!h) return {};
  return Array.isArray(h) ? Object.fromEntries(h) : { ...h };
}

function collect(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function wrap(res: IncomingMessage, url: string): LightResponse {
  let consumed: Promise<Buffer> | undefined;
  let web: ReadableStream<Uint8Array> | undefined;
  const bytes = () => (consumed ??= collect(res));
  const status = res.statusCode ?? 0;
  return {
    status,
    ok: status >= 200 && status < 300,
    statusText: res.statusMessage ?? '',
    url,
    headers: {
      get: (name) => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
      has: (name) => res.headers[name.toLowerCase()] !== undefined,
    },
    get body() {
      if (!web) {
        const { Readable } = require('node:stream') as typeof import('node:stream');
        web = Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>;
      }
      return web;
    },
    text: async () => (await bytes()).toString('utf8'),
    json: async () => JSON.parse((await bytes()).toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const b = await bytes();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

export const lightFetch: FetchLike = async (input, init = {}) => {
  let url = new URL(String(input));
  let method = (init.method ?? 'GET').toUpperCase();
  let headers = headerList(init.headers);
  let body = init.body ?? undefined;
  for (let hop = 0; ; hop++) {
    const res = await once(url, method, headers, body, init.signal ?? undefined);
    const location = res.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && location && init.redirect !== 'manual';
    if (!redirect) return wrap(res, url.href);
    res.resume();
    if (init.redirect === 'error') throw new Error(`redirect from ${url.href} refused`);
    if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects from ${String(input)}`);
    const next = new URL(location, url);
    if (next.host !== url.host) {
      // Registries redirect blob GETs to storage with its own signed URL: our credentials stay home.
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    }
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
    } else if (body instanceof ReadableStream) {
      throw new Error(`${url.href} redirected a streamed upload; cannot replay it`);
    }
    url = next;
  }
};

function once(url: URL, method: string, headers: Record<string, string>, body: LightRequestInit['body'], signal: AbortSignal | undefined): Promise<IncomingMessage> {
  const mod = (url.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:http');
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const len = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['content-length'] = String(len);
    }
    const req = mod.request(url, { method, headers: h, signal }, resolve);
    req.on('error', reject);
    if (body === undefined || body === null) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else {
      const { Readable } = require('node:stream') as typeof import('node:stream');
      Readable.fromWeb(body as import('node:stream/web').ReadableStream).on('error', (e) => req.destroy(e)).pipe(req);
    }
  });
}
