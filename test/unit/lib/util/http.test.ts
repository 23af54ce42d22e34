// The HTTP layer against loopback servers of the test's own: a total deadline that a
// trickle cannot reset (headers, body, streamed bodies, redirects), bodies read with a cap
// that fails on the announced size before reading and on the received size before
// buffering more, and no Authorization across a redirect to another host.
import http from 'node:http';
import type { Socket } from 'node:net';
import { cannedResponse, DEFAULT_DEADLINE_MS, DEFAULT_MAX_BYTES, nodeHttpSend } from '../../../../src/lib/util/http';
import { isShiplineError } from '../../../../src/lib/util/errors';
import { isTransientNetworkError } from '../../../../src/lib/util/retry';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const open: { server: http.Server; sockets: Set<Socket>; timers: Set<NodeJS.Timeout> }[] = [];

async function serve(handler: Handler, address = '127.0.0.1') {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const seen: http.IncomingHttpHeaders[] = [];
  const sent = { bytes: 0 };
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  open.push({ server, sockets, timers });
  const url = `http://${address}:${(server.address() as { port: number }).port}`;
  /** One byte every `ms`, at most `max`. */
  const drip = (res: http.ServerResponse, ms: number, max = 100) => {
    let n = 0;
    const tick = () => {
      if (res.destroyed || n++ >= max) return void res.end();
      res.write('x');
      sent.bytes++;
      const t = setTimeout(tick, ms);
      timers.add(t);
    };
    tick();
  };
  return { url, seen, sent, drip };
}

afterEach(async () => {
  for (const o of open.splice(0)) {
    for (const t of o.timers) clearTimeout(t);
    for (const s of o.sockets) s.destroy();
    await new Promise((r) => o.server.close(r));
  }
});

const timeOf = async (p: Promise<unknown>) => {
  const t = Date.now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err: err as Error & { code?: string; deadline?: boolean }, ms: Date.now() - t };
};

describe('total deadline', () => {
  test('defaults: 30 s per request, 32 MiB per body', () => {
    expect(DEFAULT_DEADLINE_MS).toBe(30_000);
    expect(DEFAULT_MAX_BYTES).toBe(32 * 1024 * 1024);
  });

  test('a body trickling faster than the idle timeout fails at the deadline (ETIMEDOUT, transient)', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'content-length': '100' });
      s.drip(res, 50);
    });
    const res = await nodeHttpSend(s.url, { method: 'GET', headers: {}, idleTimeoutMs: 5000, deadlineMs: 400 });
    expect(res.status).toBe(200);
    const { err, ms } = await timeOf(res.text());
    expect(err.message).toBe(`${new URL(s.url).host} did not answer completely within 400 ms (the request's deadline)`);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', deadline: true, deadlineMs: 400 });
    expect(isTransientNetworkError(err)).toBe(true);
    expect(ms).toBeLessThan(1500);
    expect(s.sent.bytes).toBeLessThan(20);
  });

  test('headers trickling (one byte at a time) fail at the deadline too', async () => {
    const s = await serve((req) => {
      const sock = req.socket;
      const head = 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n';
      let i = 0;
      const t = setInterval(() => (i < head.length && !sock.destroyed ? sock.write(head[i++]!) : clearInterval(t)), 50);
    });
    const { err, ms } = await timeOf(
      nodeHttpSend(s.url, { method: 'GET', headers: {}, idleTimeoutMs: 5000, deadlineMs: 300 }),
    );
    expect(err).toMatchObject({ code: 'ETIMEDOUT', deadline: true });
    expect(ms).toBeLessThan(1500);
  });

  test('a streamed body is cut at the deadline (the reader sees the deadline error)', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'content-length': '100' });
      s.drip(res, 50);
    });
    const res = await nodeHttpSend(s.url, { method: 'GET', headers: {}, deadlineMs: 300 });
    const stream = res.stream();
    const { err } = await timeOf(
      new Promise((resolve, reject) => {
        stream.on('error', reject);
        stream.on('end', resolve);
        stream.resume();
      }),
    );
    expect(err).toMatchObject({ code: 'ETIMEDOUT', deadline: true });
  });

  test('the deadline spans redirects', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/start') {
        setTimeout(() => res.writeHead(302, { location: '/next' }).end(), 200);
        return;
      }
      res.writeHead(200, { 'content-length': '100' });
      s.drip(res, 50);
    });
    const res = await nodeHttpSend(`${s.url}/start`, { method: 'GET', headers: {}, deadlineMs: 400 });
    const { err, ms } = await timeOf(res.buffer());
    expect(err).toMatchObject({ deadline: true });
    expect(ms).toBeLessThan(400); // 200 ms of it went to the redirect
  });

  test('a complete answer within the deadline is untouched, and the timer does not outlive it', async () => {
    const s = await serve((_q, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
    const res = await nodeHttpSend(s.url, { method: 'GET', headers: {}, deadlineMs: 200 });
    expect(await res.text()).toBe('hello');
    await new Promise((r) => setTimeout(r, 300)); // past the deadline: nothing fires on a finished response
  });
});

describe('read caps', () => {
  test('an announced Content-Length over the cap fails before reading (kind invalid, data.tooLarge)', async () => {
    const total = 8 * 1024 * 1024;
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let left = total;
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          s.sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const res = await nodeHttpSend(s.url, { method: 'GET', headers: {} });
    const { err } = await timeOf(res.buffer({ maxBytes: 1024 * 1024, what: 'the manifest of r/x:1' }));
    expect(isShiplineError(err)).toBe(true);
    expect(err.message).toBe('the manifest of r/x:1 is larger than 1.0 MiB (Content-Length 8388608); not read further');
    expect(err).toMatchObject({ kind: 'invalid', data: { tooLarge: true, limit: 1024 * 1024, contentLength: total } });
  });

  test('a chunked body past the cap fails as soon as it passes it', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'a');
      let n = 0;
      const pump = () => {
        while (n++ < 1024 && !res.destroyed) {
          s.sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const res = await nodeHttpSend(s.url, { method: 'GET', headers: {} });
    const { err } = await timeOf(res.text({ maxBytes: 100_000 }));
    expect(err).toMatchObject({ kind: 'invalid', data: { tooLarge: true, limit: 100_000, received: 100_000 } });
    expect(err.message).toContain('is larger than 100000 bytes (more than 100000 bytes received)');
    expect(s.sent.bytes).toBeLessThan(16 * 1024 * 1024); // it stopped reading long before the 16 MiB end
  });

  test('a body at the cap is read whole', async () => {
    const s = await serve((_q, res) => res.writeHead(200).end(Buffer.alloc(1000, 'b')));
    const res = await nodeHttpSend(s.url, { method: 'GET', headers: {} });
    expect((await res.buffer({ maxBytes: 1000 })).length).toBe(1000);
  });

  test('canned responses apply the same caps', async () => {
    await expect(cannedResponse(200, {}, Buffer.alloc(11)).buffer({ maxBytes: 10 })).rejects.toMatchObject({
      kind: 'invalid',
      data: { tooLarge: true },
    });
    await expect(cannedResponse(200, { 'Content-Length': '99' }, 'x').text({ maxBytes: 10 })).rejects.toMatchObject({
      data: { contentLength: 99 },
    });
    expect(await cannedResponse(200, {}, 'ok').text({ maxBytes: 2 })).toBe('ok');
  });
});

describe('redirects', () => {
  test('Authorization follows a redirect on the same host, never to another host', async () => {
    const other = await serve((_q, res) => res.writeHead(200).end('elsewhere'), '127.0.0.2');
    const s = await serve((req, res) => {
      if (req.url === '/a') return void res.writeHead(307, { location: '/b' }).end();
      if (req.url === '/b') return void res.writeHead(307, { location: `${other.url}/c` }).end();
      res.writeHead(404).end();
    });
    const res = await nodeHttpSend(`${s.url}/a`, { method: 'GET', headers: { authorization: 'Bearer secret' } });
    expect(await res.text()).toBe('elsewhere');
    expect(s.seen.map((h) => h.authorization)).toEqual(['Bearer secret', 'Bearer secret']);
    expect(other.seen.map((h) => h.authorization)).toEqual([undefined]);
  });
});
