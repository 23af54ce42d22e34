// One small request for the STS Query call and the GitHub token endpoint, as a whole body:
// a thin shape over util/http (node:http, not fetch: see there why).
import { nodeHttpSend } from '../util/http';

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

export const httpRequest: HttpClient = async (url, r) => {
  const res = await nodeHttpSend(url.toString(), {
    method: r.method,
    headers: r.headers,
    ...(r.body ? { body: r.body } : {}),
    ...(r.signal ? { signal: r.signal } : {}),
  });
  return { status: res.status, headers: res.headers.all(), body: await res.text() };
};
