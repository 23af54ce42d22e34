// retag against the bench's real registries (open, basic-auth, bearer-token), the token
// server and the loopback ECR API. Digests are checked with skopeo, an independent client;
// request counts at the bench's counting proxies and token server, and in our client.
import fs from 'node:fs';
import path from 'node:path';
import { benchControl, describeBench, type BenchEnv } from '../support/testbed';
import { pushIndex, pushRandomImage, testClient, uniq, writeBenchDockerConfig } from '../support/retag-images';
import { retagCli, skopeoDigest, skopeoInspect } from '../support/retag-run';
import { expectNoLeaks, plantCanaries } from '../support/canary';
import { RegistryClient } from '../../src/lib/registry/client';
import { credentialsFor, readDockerConfig } from '../../src/lib/registry/docker-config';
import { parseReference } from '../../src/lib/registry/reference';
import { planTargets } from '../../src/steps/retag/plan';
import { promoteViaRegistry, promotionScopes } from '../../src/lib/registry/promote';

jest.setTimeout(120_000);

type Control = ReturnType<typeof benchControl>;
/** This test's own requests at a shared endpoint: its repositories are unique to it. */
async function own(ctl: Control, since: number, ...repos: string[]) {
  return (await ctl.requests({ since })).filter((q) => repos.some((r) => q.path.includes(`/v2/${r}/`)));
}
/** Token requests that asked for one of these repositories. */
async function ownTokens(ctl: Control, since: number, ...repos: string[]) {
  return (await ctl.requests({ since })).filter((t) =>
    repos.some((r) => JSON.stringify(t.details?.scopes ?? []).includes(`repository:${r}:`)),
  );
}

describeBench(
  ['registries', 'registry-open-proxy', 'registry-token-proxy'],
  'retag over the registry API',
  (env: BenchEnv) => {
    const cfg = writeBenchDockerConfig(env);
    const authfile = cfg.path;
    afterAll(() => fs.rmSync(cfg.dir, { recursive: true, force: true }));

    const registries: [string, string][] = [
      ['open', env.TB_REGISTRY_OPEN],
      ['basic-auth', env.TB_REGISTRY_BASIC],
      ['bearer-token', env.TB_REGISTRY_TOKEN],
    ];

    describe.each(registries)('%s registry', (_name, registry) => {
      const repo = `retag-it/${uniq('app')}`;
      let image: { digest: string };
      beforeAll(async () => {
        image = await pushRandomImage(testClient(registry, authfile, [repo]), repo, 'sha-1a2b3c4d', {
          layers: [2048, 4096],
        });
      });

      test('keeps the digest (skopeo before/after); a re-run writes nothing', async () => {
        const src = `${registry}/${repo}:sha-1a2b3c4d`;
        expect(await skopeoDigest(src, authfile)).toBe(image.digest);
        const r = await retagCli(['--source', src, '--tags', 'v1.0.0,stable'], cfg.dir);
        expect(r.stderr).toContain(': tagged');
        expect(r.code).toBe(0);
        expect(r.outputs.digest).toBe(image.digest);
        expect(r.outputs.refs!.split('\n')).toEqual([`${registry}/${repo}:v1.0.0`, `${registry}/${repo}:stable`]);
        expect(await skopeoDigest(`${registry}/${repo}:v1.0.0`, authfile)).toBe(image.digest);
        expect(await skopeoDigest(`${registry}/${repo}:stable`, authfile)).toBe(image.digest);
        expect(await skopeoDigest(src, authfile)).toBe(image.digest);

        const again = await retagCli(['--source', src, '--tags', 'v1.0.0,stable'], cfg.dir);
        expect(again.code).toBe(0);
        expect(again.outputs.digest).toBe(image.digest);
        expect(again.stderr.match(/already there, nothing written/g)).toHaveLength(2);
      });

      test('refuses to move an existing tag without overwrite, naming the digest it holds', async () => {
        const c = testClient(registry, authfile, [repo]);
        const other = await pushRandomImage(c, repo, 'taken');
        const src = `${registry}/${repo}:sha-1a2b3c4d`;
        const r = await retagCli(['--source', src, '--tags', 'taken'], cfg.dir);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`${registry}/${repo}:taken already points at ${other.digest}`);
        expect(r.stderr).toContain('overwrite: true');
        expect(await skopeoDigest(`${registry}/${repo}:taken`, authfile)).toBe(other.digest);

        const moved = await retagCli(['--source', src, '--tags', 'taken', '--overwrite'], cfg.dir);
        expect(moved.code).toBe(0);
        expect(moved.stderr).toContain('tagged (overwrite: not looked up first)');
        expect(await skopeoDigest(`${registry}/${repo}:taken`, authfile)).toBe(image.digest);
      });
    });

    test('a 2-platform index stays an index with the same digest', async () => {
      const repo = `retag-it/${uniq('multi')}`;
      const registry = env.TB_REGISTRY_TOKEN;
      const index = await pushIndex(testClient(registry, authfile, [repo]), repo, 'sha-multi');
      const before = await skopeoInspect(`${registry}/${repo}:sha-multi`, authfile);
      expect(before.digest).toBe(index.digest);
      const dests = [
        `${registry}/retag-it/${uniq('copy')}:v2.0.0`,
        `${env.TB_REGISTRY_BASIC}/retag-it/${uniq('copy')}:v2.0.0`,
      ];
      const r = await retagCli(
        ['--source', `${registry}/${repo}:sha-multi`, '--tags', 'v2.0.0', '--destinations', dests.join(',')],
        cfg.dir,
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('multi-platform index');
      // same registry: every blob mounted; other registry: uploaded; 2 children + the index each
      expect(r.stderr).toContain('(blobs: 4 mounted, 0 present, 0 uploaded; 3 manifests)');
      expect(r.stderr).toContain('(blobs: 0 mounted, 0 present, 4 uploaded; 3 manifests)');
      expect(r.outputs.refs!.split('\n')).toHaveLength(3);
      for (const ref of r.outputs.refs!.split('\n')) {
        const after = await skopeoInspect(ref, authfile);
        expect(after.digest).toBe(index.digest);
        expect(after.mediaType).toBe('application/vnd.oci.image.index.v1+json');
        expect(after.raw).toBe(index.bytes.toString('utf8'));
        // each child is there too (the copy brought them along)
        const children = (
          JSON.parse(after.raw) as { manifests: { digest: string; platform: { architecture: string } }[] }
        ).manifests;
        expect(children.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
        for (const child of children)
          expect(await skopeoDigest(`${ref.replace(/:[^:/]+$/, '')}@${child.digest}`, authfile)).toBe(child.digest);
      }
    });

    describe('request counts on the bearer-token registry', () => {
      const registry = env.TB_REGISTRY_TOKEN_PROXY;
      const proxy = benchControl(env.TB_REGISTRY_TOKEN_PROXY);
      const tokens = benchControl(env.TB_TOKEN_SERVER);
      const repo = `retag-it/${uniq('count')}`;
      beforeAll(async () => {
        await pushRandomImage(testClient(registry, authfile, [repo]), repo, 'sha-count');
      });

      test('from cold: 1 token request for pull,push + 3 registry requests (401, GET, PUT)', async () => {
        const p0 = await proxy.mark();
        const t0 = await tokens.mark();
        const r = await retagCli(
          ['--source', `${registry}/${repo}:sha-count`, '--tags', 'cold', '--overwrite'],
          cfg.dir,
        );
        expect(r.code).toBe(0);
        // Only this test's own requests: its repository is unique, the bench is shared.
        const reg = await own(proxy, p0, repo);
        const tok = await ownTokens(tokens, t0, repo);
        expect(tok.map((t) => t.details?.scopes)).toEqual([[`repository:${repo}:pull,push`]]);
        expect(reg.map((q) => `${q.method} ${q.path.replace(`/v2/${repo}/`, '')} ${q.status}`)).toEqual([
          'GET manifests/sha-count 401',
          'GET manifests/sha-count 200',
          'PUT manifests/cold 201',
        ]);
        expect(reg.length + tok.length).toBe(4);
      });

      test('with the token cached: 2 registry requests (GET + PUT), no token request', async () => {
        const configPath = authfile;
        const source = parseReference(`${registry}/${repo}:sha-count`);
        const clients = new Map<string, RegistryClient>();
        const client = (reg: string) => {
          let c = clients.get(reg);
          if (!c) {
            const scopes =
              promotionScopes(
                source,
                planTargets({ source: `${registry}/${repo}:sha-count`, tags: ['warm-1', 'warm-2'], destinations: [] })
                  .targets,
              ).get(reg) ?? [];
            c = new RegistryClient({
              registry: reg,
              scopes,
              configPath,
              credential: async () => credentialsFor(readDockerConfig(configPath), reg, configPath),
            });
            clients.set(reg, c);
          }
          return c;
        };
        const promote = (tag: string) =>
          promoteViaRegistry({
            source,
            targets: planTargets({ source: `${registry}/${repo}:sha-count`, tags: [tag], destinations: [] }).targets,
            overwrite: true,
            client,
            log: () => undefined,
          });
        await promote('warm-1'); // takes the token
        const c = client(registry);
        const before = c.requests.length;
        const p0 = await proxy.mark();
        const t0 = await tokens.mark();
        const res = await promote('warm-2');
        expect(res.targets).toEqual([{ ref: `${registry}/${repo}:warm-2`, outcome: 'overwritten' }]);
        expect(c.requests.slice(before).map((q) => `${q.method} ${q.status}`)).toEqual(['GET 200', 'PUT 201']);
        expect((await own(proxy, p0, repo)).map((q) => q.method)).toEqual(['GET', 'PUT']);
        expect(await ownTokens(tokens, t0, repo)).toEqual([]);
        expect(c.tokenRequests).toBe(1);
      });

      test('default mode (no overwrite): a HEAD per tag, and a re-run is GET + HEAD with no PUT', async () => {
        const p0 = await proxy.mark();
        const first = await retagCli(['--source', `${registry}/${repo}:sha-count`, '--tags', 'safe'], cfg.dir);
        expect(first.code).toBe(0);
        const p1 = await proxy.mark();
        const again = await retagCli(['--source', `${registry}/${repo}:sha-count`, '--tags', 'safe'], cfg.dir);
        expect(again.code).toBe(0);
        const firstReqs = (await own(proxy, p0, repo)).filter((q) => q.seq <= p1).map((q) => `${q.method} ${q.status}`);
        const againReqs = (await own(proxy, p1, repo)).map((q) => `${q.method} ${q.status}`);
        expect(firstReqs).toEqual(['GET 401', 'GET 200', 'HEAD 404', 'PUT 201']);
        expect(againReqs).toEqual(['GET 401', 'GET 200', 'HEAD 200']);
      });

      test('parallel cold requests wait for one token', async () => {
        const t0 = await tokens.mark();
        const c = testClient(registry, authfile, [repo]);
        const heads = await Promise.all(
          Array.from({ length: 6 }, () =>
            c.request('HEAD', `/v2/${repo}/manifests/sha-count`, {
              headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
            }),
          ),
        );
        expect(heads.map((h) => h.status)).toEqual([200, 200, 200, 200, 200, 200]);
        expect(await ownTokens(tokens, t0, repo)).toHaveLength(1);
        expect(c.tokenRequests).toBe(1);
        expect(c.requests.filter((q) => q.status === 401)).toHaveLength(1);
      });
    });

    test('cross-repository copy mounts every blob: no layer bytes move', async () => {
      const registry = env.TB_REGISTRY_TOKEN_PROXY;
      const proxy = benchControl(registry);
      const tokens = benchControl(env.TB_TOKEN_SERVER);
      const repo = `retag-it/${uniq('src')}`;
      const dst = `retag-it/${uniq('dst')}`;
      const img = await pushRandomImage(testClient(registry, authfile, [repo]), repo, 'sha-copy', {
        layers: [100_000, 200_000],
      });
      const p0 = await proxy.mark();
      const t0 = await tokens.mark();
      const r = await retagCli(
        ['--source', `${registry}/${repo}:sha-copy`, '--destinations', `${registry}/${dst}:v1`],
        cfg.dir,
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('3 mounted, 0 present, 0 uploaded');
      const reqs = await own(proxy, p0, repo, dst);
      expect(reqs.filter((q) => q.method === 'PATCH' || (q.method === 'PUT' && q.action === 'PUT upload'))).toEqual([]);
      expect(reqs.filter((q) => q.action === 'GET blob')).toEqual([]);
      expect(reqs.filter((q) => q.action === 'POST upload').map((q) => q.status)).toEqual([201, 201, 201]);
      // one token for both repositories
      expect((await ownTokens(tokens, t0, repo)).map((t) => t.details?.scopes)).toEqual([
        [`repository:${repo}:pull`, `repository:${dst}:pull,push`],
      ]);
      expect(await skopeoDigest(`${registry}/${dst}:v1`, authfile)).toBe(img.digest);
    });

    test('copy to another registry uploads the blobs (streamed) and keeps the digest', async () => {
      const repo = `retag-it/${uniq('src')}`;
      const img = await pushRandomImage(testClient(env.TB_REGISTRY_OPEN, authfile, [repo]), repo, 'sha-x', {
        layers: [50_000],
      });
      const dst = `${env.TB_REGISTRY_BASIC}/retag-it/${uniq('dst')}:v1`;
      const r = await retagCli(['--source', `${env.TB_REGISTRY_OPEN}/${repo}:sha-x`, '--destinations', dst], cfg.dir);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('0 mounted, 0 present, 2 uploaded');
      expect(await skopeoDigest(dst, authfile)).toBe(img.digest);
    });

    test('throttling at the registry is retried after Retry-After, then succeeds', async () => {
      const registry = env.TB_REGISTRY_TOKEN_PROXY;
      const proxy = benchControl(registry);
      const repo = `retag-it/${uniq('throttle')}`;
      const img = await pushRandomImage(testClient(registry, authfile, [repo]), repo, 'sha-t');
      // matched to this test's own path: another run's PUT is never throttled by it
      await proxy.fault({ kind: '429', match: `/v2/${repo}/manifests/v1`, retryAfter: 1, count: 1 });
      try {
        const p0 = await proxy.mark();
        const r = await retagCli(['--source', `${registry}/${repo}:sha-t`, '--tags', 'v1', '--overwrite'], cfg.dir);
        expect(r.code).toBe(0);
        const puts = (await own(proxy, p0, repo)).filter((q) => q.action === 'PUT manifest');
        expect(puts.map((q) => q.status)).toEqual([429, 201]);
        expect(Date.parse(puts[1]!.time) - Date.parse(puts[0]!.time)).toBeGreaterThanOrEqual(900);
        expect(await skopeoDigest(`${registry}/${repo}:v1`, authfile)).toBe(img.digest);
      } finally {
        // nothing to clear: the fault matches only this test's path and is used up
      }
    });

    test('credentials from a docker credential helper (credHelpers)', async () => {
      const dir = fs.mkdtempSync(path.join(cfg.dir, 'helper-'));
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      // a real helper process: reads the server URL on stdin, prints the credentials as JSON
      fs.writeFileSync(
        path.join(bin, 'docker-credential-retagtest'),
        `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "${env.TB_REGISTRY_BASIC}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"Username":"%s","Secret":"%s"}' "$RETAGTEST_USER" "$RETAGTEST_SECRET"\n`,
        { mode: 0o755 },
      );
      fs.writeFileSync(
        path.join(dir, 'config.json'),
        JSON.stringify({ credHelpers: { [env.TB_REGISTRY_BASIC]: 'retagtest' } }),
        { mode: 0o600 },
      );
      const repo = `retag-it/${uniq('helper')}`;
      await pushRandomImage(testClient(env.TB_REGISTRY_BASIC, authfile, [repo]), repo, 'v0');
      const r = await retagCli(['--source', `${env.TB_REGISTRY_BASIC}/${repo}:v0`, '--tags', 'v1'], dir, {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        RETAGTEST_USER: env.TB_REGISTRY_BASIC_USER,
        RETAGTEST_SECRET: env.TB_REGISTRY_BASIC_PASSWORD,
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(': tagged');
      expectNoLeaks({
        secrets: { password: env.TB_REGISTRY_BASIC_PASSWORD },
        texts: { stdout: r.stdout, stderr: r.stderr },
      });
    });

    describe('bad input and failures say what and why', () => {
      test('malformed reference: exit 2 before any request', async () => {
        const r = await retagCli(['--source', 'Registry.example.com/team/app:bad tag!', '--tags', 'v1'], cfg.dir);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/input 'source':.*white space/);
        const t = await retagCli(['--source', `${env.TB_REGISTRY_OPEN}/team/app:v0`, '--tags', '-bad'], cfg.dir);
        expect(t.code).toBe(2);
        expect(t.stderr).toContain("input 'tags': '-bad' is not a valid tag");
        const n = await retagCli(['--source', `${env.TB_REGISTRY_OPEN}/team/app`, '--tags', 'v1'], cfg.dir);
        expect(n.code).toBe(2);
        expect(n.stderr).toContain('names no tag or digest');
      });

      test('missing source tag names the registry, repository and tag', async () => {
        const r = await retagCli(
          ['--source', `${env.TB_REGISTRY_TOKEN}/retag-it/nothing-here:sha-00000000`, '--tags', 'v1'],
          cfg.dir,
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          `source image not found (registry ${env.TB_REGISTRY_TOKEN}, repository retag-it/nothing-here, tag sha-00000000`,
        );
      });

      test.each([
        ['basic-auth', () => env.TB_REGISTRY_BASIC, () => env.TB_REGISTRY_BASIC_USER],
        ['bearer-token', () => env.TB_REGISTRY_TOKEN, () => env.TB_REGISTRY_TOKEN_USER],
      ])('auth failure on %s names the credential source, never its value', async (_n, registry, user) => {
        const canaries = plantCanaries('password');
        const bad = writeBenchDockerConfig(env, { [registry()]: { user: user(), password: canaries.password } });
        try {
          const r = await retagCli(['--source', `${registry()}/retag-it/any:v0`, '--tags', 'v1'], bad.dir, {
            SHIPLINE_DEBUG: 'true',
          });
          expect(r.code).toBe(1);
          expect(r.stderr).toContain(`auths["${registry()}"] in ${bad.path}`);
          expect(r.stderr).toMatch(/refused the credentials/);
          expectNoLeaks({
            secrets: canaries,
            texts: { stdout: r.stdout, stderr: r.stderr },
            files: [path.join(bad.dir, 'outputs.env')].filter((f) => fs.existsSync(f)),
          });
        } finally {
          fs.rmSync(bad.dir, { recursive: true, force: true });
        }
      });

      test('no credentials at all: says none were found and where it looked', async () => {
        const empty = fs.mkdtempSync(path.join(cfg.dir, 'empty-'));
        const r = await retagCli(['--source', `${env.TB_REGISTRY_BASIC}/retag-it/any:v0`, '--tags', 'v1'], empty);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          `needs credentials and none were found (no credentials (anonymous; none found for this registry in ${path.join(empty, 'config.json')}))`,
        );
      });

      test('a successful run leaks neither the password nor the token (debug on)', async () => {
        const repo = `retag-it/${uniq('leak')}`;
        await pushRandomImage(testClient(env.TB_REGISTRY_TOKEN, authfile, [repo]), repo, 'v0');
        const r = await retagCli(
          [
            '--source',
            `${env.TB_REGISTRY_TOKEN}/${repo}:v0`,
            '--tags',
            'v1',
            '--destinations',
            `${env.TB_REGISTRY_BASIC}/${repo}:v1`,
          ],
          cfg.dir,
          { SHIPLINE_DEBUG: 'true' },
        );
        expect(r.code).toBe(0);
        expect(r.stderr).toContain('debug: registry');
        expectNoLeaks({
          secrets: { basic: env.TB_REGISTRY_BASIC_PASSWORD, token: env.TB_REGISTRY_TOKEN_PASSWORD },
          texts: { stdout: r.stdout, stderr: r.stderr },
          files: [path.join(cfg.dir, 'outputs.env')],
        });
        expect(r.stderr).not.toMatch(/Bearer [A-Za-z0-9]/);
      });
    });
  },
);

describeBench(['registry-basic', 'ecr'], 'retag through the ECR API (loopback ECR)', (env: BenchEnv) => {
  const cfg = writeBenchDockerConfig(env, { [env.TB_ECR_REGISTRY]: { user: 'AWS', password: env.TB_ECR_PASSWORD } });
  const ecrControl = benchControl(env.TB_ECR_URL);
  // This file's own path at the shared loopback ECR: only its requests are counted.
  const ecrPath = `/${uniq('retag-ecr')}`;
  const ecr = {
    mark: () => ecrControl.mark(),
    requests: async (o: { since: number }) =>
      (await ecrControl.requests(o)).filter((q) => q.path === ecrPath || q.path.startsWith(`${ecrPath}/`)),
  };
  const aws = {
    AWS_ENDPOINT_URL_ECR: `${env.TB_ECR_URL}${ecrPath}`,
    AWS_REGION: env.TB_AWS_REGION,
    AWS_ACCESS_KEY_ID: env.TB_AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: env.TB_AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
  };
  afterAll(() => fs.rmSync(cfg.dir, { recursive: true, force: true }));

  test('method ecr-api: BatchGetImage + PutImage; a re-run is one BatchGetImage', async () => {
    const tag = uniq('sha');
    const img = await pushRandomImage(testClient(env.TB_ECR_REGISTRY, cfg.path, ['shipline/app']), 'shipline/app', tag);
    const m0 = await ecr.mark();
    const src = `${env.TB_ECR_REGISTRY}/shipline/app:${tag}`;
    const release = uniq('v1');
    const r = await retagCli(['--source', src, '--tags', release, '--method', 'ecr-api'], cfg.dir, aws);
    expect(r.code).toBe(0);
    expect(r.outputs.digest).toBe(img.digest);
    expect((await ecr.requests({ since: m0 })).map((q) => `${q.action} ${q.status}`)).toEqual([
      'BatchGetImage 200',
      'PutImage 200',
    ]);
    expect(await skopeoDigest(`${env.TB_ECR_REGISTRY}/shipline/app:${release}`, cfg.path)).toBe(img.digest);

    const m1 = await ecr.mark();
    const again = await retagCli(['--source', src, '--tags', release, '--method', 'ecr-api'], cfg.dir, aws);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already there, nothing written');
    expect((await ecr.requests({ since: m1 })).map((q) => q.action)).toEqual(['BatchGetImage']);
    expectNoLeaks({
      secrets: { secretKey: env.TB_AWS_SECRET_ACCESS_KEY },
      texts: { stdout: r.stdout + again.stdout, stderr: r.stderr + again.stderr },
    });
  });

  test('immutable repository: a moved tag is explained', async () => {
    const c = testClient(env.TB_ECR_REGISTRY, cfg.path, ['shipline/immutable']);
    const a = await pushRandomImage(c, 'shipline/immutable', uniq('a'));
    const taken = uniq('rel');
    await pushRandomImage(c, 'shipline/immutable', taken);
    const src = `${env.TB_ECR_REGISTRY}/shipline/immutable@${a.digest}`;
    const refused = await retagCli(['--source', src, '--tags', taken, '--method', 'ecr-api'], cfg.dir, aws);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already points at sha256:/);
    const r = await retagCli(['--source', src, '--tags', taken, '--method', 'ecr-api', '--overwrite'], cfg.dir, aws);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`is immutable: tag '${taken}' already exists and ECR will not move it to ${a.digest}`);
    expect(r.stderr).toContain('make the repository MUTABLE');
  });

  test('ecr-api refuses destinations in other repositories before any call', async () => {
    const m0 = await ecr.mark();
    const r = await retagCli(
      [
        '--source',
        `${env.TB_ECR_REGISTRY}/shipline/app:x`,
        '--destinations',
        `${env.TB_ECR_REGISTRY}/shipline/other:x`,
        '--method',
        'ecr-api',
      ],
      cfg.dir,
      aws,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ecr-api retags within one repository');
    expect(await ecr.requests({ since: m0 })).toEqual([]);
  });
});
