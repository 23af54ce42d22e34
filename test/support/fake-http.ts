// A fake HTTP layer for the registry client: handlers answer with web Responses (handy
// to write), converted to the client's HttpResponse; every call is recorded.
import { cannedResponse, type HttpSend } from '../../src/lib/util/http';

export type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>;

/** An HttpSend answering through `handler`, and the calls it saw. */
export function fakeFetch(handler: Handler) {
  const calls: { url: string; method: string; headers: Record<string, string> }[] = [];
  const f: HttpSend = async (input, req) => {
    const url = new URL(input);
    calls.push({ url: url.toString(), method: req.method, headers: { ...req.headers } });
    const r = await handler(url, { method: req.method, headers: req.headers });
    return cannedResponse(r.status, Object.fromEntries(r.headers), Buffer.from(await r.arrayBuffer()));
  };
  return { f, calls };
}
