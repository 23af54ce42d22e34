// retag's effects against an in-process loopback registry: outputs and summary on
// success, and library errors (which carry data, never an input name) given the hint in
// this step's terms.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../../../../src/steps/retag/main';
import { digestOf } from '../../../../src/lib/registry/manifest';
import type { ShiplineError } from '../../../../src/lib/util/errors';

type StepCtx = Parameters<typeof main>[0];

const MANIFEST = Buffer.from(
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}',
);
const OTHER = `sha256:${'2'.repeat(64)}`;

/** Manifests by `<repo>:<ref>`; anything else is 404. PUTs are kept. */
function registry(manifests: Record<string, string>) {
  const puts: string[] = [];
  const server = http.createServer((req, res) => {
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(req.url === '/v2/' ? 200 : 404).end();
    const key = `${m[1]}:${m[2]}`;
    if (req.method === 'PUT') {
      puts.push(key);
      req.resume();
      req.on('end', () => res.writeHead(201, { 'docker-content-digest': digestOf(MANIFEST) }).end());
      return;
    }
    const held = manifests[key];
    if (!held) return void res.writeHead(404).end();
    const headers = {
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      'docker-content-digest': held === 'image' ? digestOf(MANIFEST) : held,
    };
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : MANIFEST);
  });
  return { server, puts };
}

function ctx(inputs: Partial<StepCtx['inputs']> & { source: string }, env: Record<string, string> = {}) {
  const outputs: Record<string, string> = {};
  const logs: string[] = [];
  const c = {
    inputs: { tags: [], destinations: [], overwrite: false, method: 'auto', insecureRegistries: [], ...inputs },
    platform: 'cli',
    env: { DOCKER_CONFIG: '/nonexistent', ...env },
    log: {
      info: (m: string) => logs.push(m),
      debug: () => undefined,
      warn: () => undefined,
      error: () => undefined,
      group: <T>(_t: string, fn: () => Promise<T>) => fn(),
    },
    setOutput: (name: string, value: string) => void (outputs[name] = value),
    secret: () => undefined,
    summary: (md: string) => void logs.push(md),
    lazy: () => import('../../../../src/steps/retag/lazy'),
  } as unknown as StepCtx;
  return { c, outputs, logs };
}

describe('retag main (loopback registry)', () => {
  const r = registry({ 'team/app:sha-1': 'image', 'team/app:taken': OTHER });
  let host: string;
  beforeAll(async () => {
    await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
    host = `127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => r.server.close(() => ok())));

  test('tags the source and sets digest and refs', async () => {
    const { c, outputs, logs } = ctx({ source: `${host}/team/app:sha-1`, tags: ['v1'] });
    await main(c);
    expect(outputs).toEqual({ digest: digestOf(MANIFEST), refs: `${host}/team/app:v1` });
    expect(r.puts).toContain('team/app:v1');
    expect(logs.join('\n')).toContain(`${host}/team/app:v1: tagged`);
  });

  test('a tag on another digest: the library’s conflict, worded with input overwrite', async () => {
    const { c } = ctx({ source: `${host}/team/app:sha-1`, tags: ['taken'] });
    const err = (await main(c).catch((e: unknown) => e)) as ShiplineError;
    expect(err.kind).toBe('conflict');
    expect(err.message).toContain(`${host}/team/app:taken already points at ${OTHER}`);
    expect(err.hint).toBe('set input overwrite: true to move it, or pick a tag that is not in use');
    expect(err.exitCode).toBe(1);
  });

  test('a missing source: not-found, with a hint about the source reference', async () => {
    const { c } = ctx({ source: `${host}/team/app:nope`, tags: ['v1'] });
    const err = (await main(c).catch((e: unknown) => e)) as ShiplineError;
    expect(err.kind).toBe('not-found');
    expect(err.message).toContain(`source image not found (registry ${host}, repository team/app, tag nope`);
    expect(err.hint).toMatch(/^check the source reference/);
  });

  test('bad input is exit 2 before any request', async () => {
    const before = r.puts.length;
    const { c } = ctx({ source: `${host}/team/app:sha-1` });
    const err = (await main(c).catch((e: unknown) => e)) as ShiplineError;
    expect(err.exitCode).toBe(2);
    expect(r.puts.length).toBe(before);
  });
});

describe('hints that name inputs and steps are worded here', () => {
  test('method ecr-api without a region: AWS_REGION and the assume-role step', async () => {
    const { c } = ctx({ source: 'registry.example.com/team/app:v0', tags: ['v1'], method: 'ecr-api' });
    const err = (await main(c).catch((e: unknown) => e)) as ShiplineError;
    expect(err.message).toBe('the ECR API needs an AWS region for registry.example.com');
    expect(err.hint).toContain('the assume-role step exports it');
  });
});
