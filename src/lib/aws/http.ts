// One small HTTP(S) request with node:http(s): the STS Query call and the GitHub token
// request. Not fetch(): its first use in a process compiles undici's HTTP parser
// (measured ~200 ms on this machine, five times node's own start).
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
}

export type HttpClient = (url: URL, req: HttpRequest) => Promise<HttpAnswer>;

function flatHeaders(h: IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export const httpRequest: HttpClient = (url, r) => {
  // Required here: node:https costs start-up time a bad input should never pay.
  const mod = (url.protocol === 'http:' ? require('node:http') : require('node:https')) as typeof import('node:https');
  return new Promise<HttpAnswer>((resolve, reject) => {
    const headers = { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) };
    const req = mod.request(url, { method: r.method, headers, ...(r.signal ? { signal: r.signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(r.body);
  });
};
