// Loopback HTTP servers that misbehave on purpose (a registry, a realm, a Vault): they
// record every request (method, path, headers) so a test can assert what reached them,
// and every misbehaviour is bounded in bytes and time; close() ends them and their sockets.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface Hostile {
  /** `http://host:port` */
  url: string;
  /** `host:port` */
  host: string;
  seen: Seen[];
  /** Body bytes written by the handlers (what left this server). */
  sent: { bytes: number };
  close(): Promise<void>;
}

export type HostileHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { sent: { bytes: number }; timers: Set<NodeJS.Timeout> },
) => void;

/** A server on a loopback address only (127.0.0.1 unless told, e.g. 127.0.0.2 as "another host"). */
export async function hostileServer(handler: HostileHandler, address = '127.0.0.1'): Promise<Hostile> {
  if (!/^127\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`hostile servers listen on loopback only, not ${address}`);
  const seen: Seen[] = [];
  const sent = { bytes: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers } });
    req.resume();
    handler(req, res, { sent, timers });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${address}:${port}`,
    host: `${address}:${port}`,
    seen,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Headers at once, then the body one byte every `everyMs` (at most `max` bytes, so it
 * ends by itself); stops when the client goes away.
 */
export function trickle(
  status: number,
  headers: Record<string, string>,
  opts: { everyMs?: number; max?: number } = {},
): HostileHandler {
  const every = opts.everyMs ?? 2000;
  const max = opts.max ?? 100;
  return (_req, res, { sent, timers }) => {
    res.writeHead(status, { ...headers, 'content-length': String(max) });
    res.flushHeaders();
    let n = 0;
    const tick = () => {
      if (res.destroyed || n >= max) return void res.end();
      res.write(' ');
      sent.bytes++;
      n++;
      const t = setTimeout(() => {
        timers.delete(t);
        tick();
      }, every);
      timers.add(t);
    };
    tick();
    res.on('close', () => {
      for (const t of timers) clearTimeout(t);
    });
  };
}

/**
 * A body of `total` bytes (a JSON string that never closes, so only its size matters),
 * written as fast as the client reads, chunked unless `announce` sends Content-Length.
 */
export function hugeBody(
  headers: Record<string, string>,
  total: number,
  opts: { announce?: boolean } = {},
): HostileHandler {
  return (_req, res, { sent }) => {
    res.writeHead(200, { ...headers, ...(opts.announce ? { 'content-length': String(total) } : {}) });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let left = total;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const piece = left === total ? Buffer.concat([Buffer.from('{"x":"'), chunk]).subarray(0, chunk.length) : chunk;
        const part = piece.subarray(0, Math.min(piece.length, left));
        left -= part.length;
        sent.bytes += part.length;
        if (!res.write(part)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };
}

/** Max RSS in bytes from the output of `/usr/bin/time -v`, or undefined when absent. */
export function maxRssBytes(timeOutput: string): number | undefined {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(timeOutput);
  return m ? Number(m[1]) * 1024 : undefined;
}
