// Transparent streaming proxy in front of a bench registry, so tests can count registry
// requests by kind (GET manifest, HEAD blob, POST upload, …) and inject faults.
import http from 'node:http';
import { Endpoint, sendJson } from './control';

export function classifyRegistryRequest(method: string, path: string): { action: string; repo?: string; ref?: string } {
  if (path === '/v2/' || path === '/v2') return { action: `${method} base` };
  if (path === '/v2/_catalog') return { action: `${method} catalog` };
  const m = /^\/v2\/(.+)\/(manifests|blobs\/uploads|blobs|tags)\/?(.*)$/.exec(path);
  if (!m) return { action: `${method} other` };
  const kind = { manifests: 'manifest', 'blobs/uploads': 'upload', blobs: 'blob', tags: 'tags' }[m[2]!] ?? m[2]!;
  const out: { action: string; repo?: string; ref?: string } = { action: `${method} ${kind}`, repo: m[1]! };
  if (m[3]) out.ref = m[3];
  return out;
}

export function createRegistryProxy(
  name: string,
  port: number,
  upstream: { host: string; port: number },
  host = '127.0.0.1',
): Endpoint {
  return new Endpoint({
    name,
    host,
    port,
    bufferBody: false,
    classify: (req, url) => classifyRegistryRequest(req.method ?? 'GET', url.pathname).action,
    handle: (req, res, meta) =>
      new Promise<void>((resolve) => {
        const c = classifyRegistryRequest(req.method ?? 'GET', meta.url.pathname);
        if (c.repo) meta.details.repo = c.repo;
        if (c.ref) meta.details.ref = c.ref;
        const up = http.request(
          { host: upstream.host, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (ur) => {
            res.writeHead(ur.statusCode ?? 502, ur.headers);
            ur.pipe(res);
            ur.on('end', () => resolve());
            ur.on('error', () => {
              res.destroy();
              resolve();
            });
          },
        );
        up.on('error', (e) => {
          if (!res.headersSent)
            sendJson(res, 502, { errors: [{ code: 'UNAVAILABLE', message: `bench proxy: upstream ${e.message}` }] });
          else res.destroy();
          resolve();
        });
        req.pipe(up);
      }),
  });
}
