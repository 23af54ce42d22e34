// Shared plumbing for every loopback endpoint of the test bench: request log, fault
// injection and the `/__control/*` API. Each endpoint supplies only its protocol.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type FaultKind = '500' | '429' | 'drop' | 'slow' | 'error';

export interface Fault {
  kind: FaultKind;
  /** How many matching requests this fault applies to. */
  count: number;
  /** Seconds, sent as `Retry-After` with 429 (and 500/error when given). */
  retryAfter?: number;
  /** For `slow`: delay before the request is handled normally. */
  delayMs?: number;
  /** Substring of the action (STS Action, ECR operation, …) or of the path. */
  match?: string;
  /** For `error`: HTTP status, protocol error code and message. */
  status?: number;
  code?: string;
  message?: string;
}

export interface LoggedRequest {
  seq: number;
  time: string;
  endpoint: string;
  method: string;
  path: string;
  action: string;
  status?: number;
  ms?: number;
  fault?: FaultKind;
  details?: Record<string, unknown>;
}

export interface RequestMeta {
  action: string;
  url: URL;
  body: Buffer;
  /** Extra fields recorded in the request log (never secrets). */
  details: Record<string, unknown>;
}

export interface FaultRender {
  status: number;
  code: string;
  message: string;
  retryAfter?: number;
}

export interface EndpointSpec {
  name: string;
  host?: string;
  port: number;
  /** Buffer the request body before calling handle (default true). */
  bufferBody?: boolean;
  classify?: (req: IncomingMessage, url: URL, body: Buffer) => string;
  handle: (req: IncomingMessage, res: ServerResponse, meta: RequestMeta) => Promise<void> | void;
  /** Write a protocol-shaped error for an injected fault. */
  renderFault?: (res: ServerResponse, fault: FaultRender, meta: RequestMeta) => void;
  /** Endpoint-specific control routes under /__control/<name>/... Return false when not handled. */
  control?: (req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer) => Promise<boolean> | boolean;
  /** Reset endpoint-specific knobs on POST /__control/reset. */
  reset?: () => void;
}

const MAX_LOG = 5000;
const MAX_BODY = 64 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length), ...headers });
  res.end(body);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain',
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(body.length), ...headers });
  res.end(body);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function parseFaults(value: unknown): Fault[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((f) => {
    if (!f || typeof f !== 'object') throw new Error('fault must be an object');
    const o = f as Record<string, unknown>;
    const kind = String(o.kind ?? '500') as FaultKind;
    if (!['500', '429', 'drop', 'slow', 'error'].includes(kind)) throw new Error(`unknown fault kind ${kind}`);
    const fault: Fault = { kind, count: Math.max(1, Number(o.count ?? 1)) };
    if (o.retryAfter !== undefined) fault.retryAfter = Number(o.retryAfter);
    if (o.delayMs !== undefined) fault.delayMs = Number(o.delayMs);
    if (typeof o.match === 'string') fault.match = o.match;
    if (o.status !== undefined) fault.status = Number(o.status);
    if (typeof o.code === 'string') fault.code = o.code;
    if (typeof o.message === 'string') fault.message = o.message;
    return fault;
  });
}

function defaultRenderFault(res: ServerResponse, f: FaultRender): void {
  const headers: Record<string, string> = {};
  if (f.retryAfter !== undefined) headers['retry-after'] = String(f.retryAfter);
  sendJson(res, f.status, { errors: [{ code: f.code, message: f.message }] }, headers);
}

export class Endpoint {
  readonly log: LoggedRequest[] = [];
  faults: Fault[] = [];
  private seq = 0;
  server: http.Server;

  constructor(readonly spec: EndpointSpec) {
    this.server = http.createServer((req, res) => {
      this.dispatch(req, res).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(`[${spec.name}] handler error: ${message}\n`);
        if (!res.headersSent) sendJson(res, 500, { error: message });
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.spec.port, this.spec.host ?? '127.0.0.1', () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private takeFault(action: string, path: string): Fault | undefined {
    const i = this.faults.findIndex(
      (f) => f.count > 0 && (!f.match || action.includes(f.match) || path.includes(f.match)),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.count -= 1;
    if (f.count <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (url.pathname.startsWith('/__control/')) {
      const body = await readBody(req);
      await this.control(req, res, url, body);
      return;
    }
    const body = this.spec.bufferBody === false ? Buffer.alloc(0) : await readBody(req);
    const action = this.spec.classify ? this.spec.classify(req, url, body) : `${req.method} ${url.pathname}`;
    const meta: RequestMeta = { action, url, body, details: {} };
    const entry: LoggedRequest = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      endpoint: this.spec.name,
      method: req.method ?? 'GET',
      path: url.pathname,
      action,
      details: meta.details,
    };
    this.log.push(entry);
    if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG);
    const started = Date.now();
    res.on('finish', () => {
      entry.status = res.statusCode;
      entry.ms = Date.now() - started;
    });
    res.on('close', () => {
      if (entry.ms === undefined) entry.ms = Date.now() - started;
    });

    const fault = this.takeFault(action, url.pathname);
    if (fault) {
      entry.fault = fault.kind;
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'slow') {
        await sleep(fault.delayMs ?? 2000);
      } else {
        const render: FaultRender =
          fault.kind === '429'
            ? {
                status: 429,
                code: fault.code ?? 'Throttling',
                message: fault.message ?? 'Rate exceeded',
                retryAfter: fault.retryAfter ?? 1,
              }
            : fault.kind === '500'
              ? {
                  status: 500,
                  code: fault.code ?? 'InternalFailure',
                  message: fault.message ?? 'injected internal error',
                }
              : {
                  status: fault.status ?? 400,
                  code: fault.code ?? 'InjectedError',
                  message: fault.message ?? 'injected error',
                };
        if (fault.kind !== '429' && fault.retryAfter !== undefined) render.retryAfter = fault.retryAfter;
        (this.spec.renderFault ?? defaultRenderFault)(res, render, meta);
        return;
      }
    }
    await this.spec.handle(req, res, meta);
  }

  private async control(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const p = url.pathname;
    const method = req.method ?? 'GET';
    try {
      if (p === '/__control/health') return sendJson(res, 200, { ok: true, endpoint: this.spec.name });
      if (p === '/__control/requests' && method === 'GET') {
        const action = url.searchParams.get('action');
        const since = Number(url.searchParams.get('since') ?? 0);
        const list = this.log.filter((e) => e.seq > since && (!action || e.action === action));
        return sendJson(res, 200, { endpoint: this.spec.name, requests: list });
      }
      if (p === '/__control/counts' && method === 'GET') {
        const counts: Record<string, number> = {};
        for (const e of this.log) counts[e.action] = (counts[e.action] ?? 0) + 1;
        return sendJson(res, 200, { endpoint: this.spec.name, counts });
      }
      if (p === '/__control/requests' && method === 'DELETE') {
        this.log.length = 0;
        return sendJson(res, 200, { ok: true });
      }
      if (p === '/__control/faults' && method === 'POST') {
        const added = parseFaults(JSON.parse(body.toString() || '{}'));
        this.faults.push(...added);
        return sendJson(res, 200, { ok: true, faults: this.faults });
      }
      if (p === '/__control/faults' && method === 'GET') return sendJson(res, 200, { faults: this.faults });
      if (p === '/__control/faults' && method === 'DELETE') {
        this.faults = [];
        return sendJson(res, 200, { ok: true });
      }
      if (p === '/__control/reset' && method === 'POST') {
        this.log.length = 0;
        this.faults = [];
        this.spec.reset?.();
        return sendJson(res, 200, { ok: true });
      }
      if (this.spec.control && (await this.spec.control(req, res, url, body))) return;
      sendJson(res, 404, { error: `unknown control route ${method} ${p}` });
    } catch (err) {
      sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  }
}
