// A loopback HTTP proxy in front of a bench endpoint that records only the requests sent
// through it: a test that counts requests counts its own, whoever else uses the bench.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  status: number;
  /** The response body (bench endpoints answer small JSON). */
  body: string;
}

export interface RecordingProxy {
  /** Base URL to give the client instead of the endpoint's. */
  url: string;
  /** `METHOD /path` of every request so far, in order. */
  calls(): string[];
  recorded(): Recorded[];
  close(): Promise<void>;
}

export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const recorded: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const up = http.request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: to.host },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const text = Buffer.concat(chunks);
            recorded.push({
              method: req.method ?? '',
              path: (req.url ?? '').replace(/\?.*$/, ''),
              status: answer.statusCode ?? 0,
              body: text.toString('utf8'),
            });
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(text);
          });
        },
      );
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => recorded.map((r) => `${r.method} ${r.path}`),
    recorded: () => [...recorded],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
