// untag's effects against an in-process loopback registry with Distribution's semantics
// (DELETE by digest only, taking every tag on it): outputs, warnings and summary for
// deleted / kept / missing, a dry run that deletes nothing, and the library's errors
// given hints in this step's terms.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../../../../src/steps/untag/main';
import { digestOf, MEDIA_TYPES } from '../../../../src/lib/registry/manifest';
import type { ShiplineError } from '../../../../src/lib/util/errors';

type StepCtx = Parameters<typeof main>[0];

const image = (n: number) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { n }, layers: [] }));

/** Repositories → tags → manifest bytes. `team/nodelete` answers DELETE with 405. */
function registry(repos: Record<string, Record<string, Buffer>>) {
  const deletes: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (tags) {
      const held = repos[tags[1]!];
      if (!held) return void res.writeHead(404).end();
      return void res.writeHead(200).end(JSON.stringify({ name: tags[1], tags: Object.keys(held) }));
    }
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const held = m && repos[m[1]!];
    if (!m || !held) return void res.writeHead(url.pathname === '/v2/' ? 200 : 404).end();
    const ref = m[2]!;
    if (req.method === 'DELETE') {
      if (m[1] === 'team/nodelete') return void res.writeHead(405).end();
      deletes.push(`${m[1]}@${ref}`);
      for (const [t, b] of Object.entries(held)) if (digestOf(b) === ref) delete held[t];
      return void res.writeHead(202).end();
    }
    const bytes = ref.startsWith('sha256:') ? Object.values(held).find((b) => digestOf(b) === ref) : held[ref];
    if (!bytes) return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest, 'docker-content-digest': digestOf(bytes) })
      .end(req.method === 'HEAD' ? undefined : bytes);
  });
  return { server, deletes };
}

function ctx(inputs: Partial<StepCtx['inputs']> & { image: string }) {
  const outputs: Record<string, string> = {};
  const logs: string[] = [];
  const warnings: string[] = [];
  const summaries: string[] = [];
  const c = {
    inputs: {
      tags: [],
      dryRun: false,
      protected: ['latest'],
      method: 'registry',
      insecureRegistries: [],
      ...inputs,
    },
    platform: 'cli',
    env: { DOCKER_CONFIG: '/nonexistent' },
    log: {
      info: (m: string) => logs.push(m),
      debug: () => undefined,
      warn: (m: string) => warnings.push(m),
      error: () => undefined,
      group: <T>(_t: string, fn: () => Promise<T>) => fn(),
    },
    setOutput: (name: string, value: string) => void (outputs[name] = value),
    secret: () => undefined,
    summary: (md: string) => void summaries.push(md),
    lazy: () => import('../../../../src/steps/untag/lazy'),
  } as unknown as StepCtx;
  return { c, outputs, logs, warnings, summaries };
}

describe('untag main (loopback registry)', () => {
  const shared = image(1);
  const r = registry({
    'team/app': { 'MR-1': image(2), 'MR-2': shared, latest: shared, 'MR-3': image(3) },
    'team/nodelete': { 'MR-1': image(4) },
  });
  let host: string;
  beforeAll(async () => {
    await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
    host = `127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => r.server.close(() => ok())));

  test('dry run: would-delete, nothing deleted, the summary says so', async () => {
    const { c, outputs, summaries } = ctx({ image: `${host}/team/app`, tags: ['MR-3'], dryRun: true });
    await main(c);
    expect(outputs).toEqual({ deleted: '', 'would-delete': 'MR-3', kept: '', missing: '' });
    expect(r.deletes).toEqual([]);
    expect(summaries.join('')).toContain('### Untag (dry run)');
    expect(summaries.join('')).toContain('- `MR-3`: would be deleted (dry run)');
  });

  test('deleted, kept (shared with latest: a warning, not a failure) and missing in one run', async () => {
    const { c, outputs, logs, warnings, summaries } = ctx({
      image: `${host}/team/app:MR-1`,
      tags: ['MR-2', 'MR-9'],
    });
    await main(c);
    expect(outputs).toEqual({ deleted: 'MR-1', 'would-delete': '', kept: 'MR-2', missing: 'MR-9' });
    expect(r.deletes).toEqual([`team/app@${digestOf(image(2))}`]);
    expect(warnings).toEqual([
      expect.stringContaining(
        `${host}/team/app:MR-2: kept (${digestOf(shared)}): tag latest points at the same digest`,
      ),
    ]);
    expect(logs).toContain(`${host}/team/app:MR-9: not there, nothing to do`);
    expect(summaries.join('')).toContain('- `MR-2`: kept: another tag holds its digest (`latest`)');
  });

  test('a re-run: missing, no DELETE', async () => {
    const before = r.deletes.length;
    const { c, outputs } = ctx({ image: `${host}/team/app`, tags: ['MR-1'] });
    await main(c);
    expect(outputs.missing).toBe('MR-1');
    expect(r.deletes.length).toBe(before);
  });

  test('a registry refusing deletes (405): the error says how to enable them', async () => {
    const { c } = ctx({ image: `${host}/team/nodelete`, tags: ['MR-1'] });
    const err = (await main(c).catch((e: unknown) => e)) as ShiplineError;
    expect(err.message).toContain('does not allow deleting manifests');
    expect(err.hint).toContain('storage.delete.enabled: true');
  });

  test('a protected tag: exit 2 before any request', async () => {
    const { c } = ctx({ image: `${host}/team/app`, tags: ['latest'] });
    const err = (await main(c).catch((e: unknown) => e)) as ShiplineError;
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("refusing to remove protected tag 'latest'");
  });
});
