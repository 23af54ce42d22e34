// retag and vault-secrets (their dist bundles, through the CLI) against loopback servers
// that misbehave: a registry trickling one byte every 2 s, a manifest of 64 MiB (streamed
// and announced), a registry claiming md5 digests, bearer realms on another host or on
// plain HTTP, and a Vault that trickles. Each must fail clearly within its deadline, send
// no credential where it does not belong (asserted at the servers), keep its memory well
// under the manifest's size (max RSS from /usr/bin/time -v) and write nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostileServer, hugeBody, maxRssBytes, trickle, type Hostile } from '../support/hostile-server';
import { canary, expectNoLeaks } from '../support/canary';
import { parseOutputs, RETAG_BUNDLE } from '../support/retag-run';
import { repoRoot, run, withEnv } from '../support/exec';
import { digestOf, MEDIA_TYPES } from '../../src/lib/registry/manifest';

jest.setTimeout(120_000);

const VAULT_BUNDLE = path.join(repoRoot, 'dist/vault-secrets/index.js');
const TIME = '/usr/bin/time';
const MiB = 1024 * 1024;
const OCI = { 'content-type': MEDIA_TYPES.ociManifest };
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 },
    layers: [],
  }),
);

const servers: Hostile[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function serve(...args: Parameters<typeof hostileServer>): Promise<Hostile> {
  const s = await hostileServer(...args);
  servers.push(s);
  return s;
}

/** A job dir with a docker config holding a canary credential for each registry given. */
function jobDir(registries: string[]): { dir: string; password: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-'));
  dirs.push(dir);
  const password = canary('hostilepw');
  const auths = Object.fromEntries(
    registries.map((r) => [r, { auth: Buffer.from(`ci:${password}`).toString('base64') }]),
  );
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths }), { mode: 0o600 });
  return { dir, password };
}

/** A bundle through the CLI runtime under /usr/bin/time -v (max RSS), with the job dir as DOCKER_CONFIG and cwd. */
async function cli(bundle: string, args: string[], dir: string, extra: Record<string, string> = {}) {
  const env = withEnv({
    DOCKER_CONFIG: dir,
    GITHUB_ACTIONS: undefined,
    GITLAB_CI: undefined,
    SHIPLINE_OUTPUT_FILE: path.join(dir, 'outputs.env'),
    SHIPLINE_ENV_FILE: path.join(dir, 'env'),
    ...extra,
  });
  const r = await run(TIME, ['-v', process.execPath, bundle, ...args], { env, cwd: dir, timeoutMs: 110_000 });
  return { ...r, outputs: parseOutputs(r.stdout), maxRss: maxRssBytes(r.stderr) };
}

/** The Authorization headers a server received. */
const authorizations = (s: Hostile) =>
  s.seen.flatMap((q) => (q.headers.authorization ? [q.headers.authorization] : []));

/** True when the canary password reached the server in any header (raw or in Basic's base64). */
function sawCredential(s: Hostile, password: string): boolean {
  const b64 = Buffer.from(`ci:${password}`).toString('base64');
  return s.seen.some((q) => JSON.stringify(q.headers).includes(password) || JSON.stringify(q.headers).includes(b64));
}

describe('hostile registries: retag (dist bundle, CLI)', () => {
  beforeAll(() => {
    if (!fs.existsSync(RETAG_BUNDLE) || !fs.existsSync(TIME))
      throw new Error(`needs ${RETAG_BUNDLE} (npm run build) and ${TIME}`);
  });

  test('a manifest trickling one byte every 2 s fails within the 60 s deadline of all attempts', async () => {
    const reg = await serve(trickle(200, OCI, { everyMs: 2000, max: 100 }));
    const { dir, password } = jobDir([reg.host]);
    const r = await cli(RETAG_BUNDLE, ['--source', `${reg.host}/team/app:v1`, '--tags', 'v2'], dir);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${reg.host} did not answer completely within 30 s`);
    expect(r.stderr).toMatch(/gave up after 2 attempts/);
    // Two attempts of 30 s at most, bounded together by the 60 s deadline (plus node's start).
    expect(r.ms).toBeGreaterThan(55_000);
    expect(r.ms).toBeLessThan(70_000);
    expect(reg.seen.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /v2/team/app/manifests/v1',
      'GET /v2/team/app/manifests/v1',
    ]);
    expect(authorizations(reg)).toEqual([]); // never challenged: no credential sent
    expect(r.outputs.digest).toBeUndefined();
    expectNoLeaks({ secrets: { password }, texts: { stdout: r.stdout, stderr: r.stderr } });
  });

  test.each([
    ['streamed (chunked, no length)', false],
    ['announced (Content-Length 64 MiB)', true],
  ])('a 64 MiB manifest, %s, is refused at 4 MiB with bounded memory; nothing is written', async (_n, announce) => {
    // The same bundle failing at once (a 404) is the baseline: what node itself takes.
    const empty = await serve((_req, res) => void res.writeHead(404).end());
    const base = await cli(RETAG_BUNDLE, ['--source', `${empty.host}/team/app:v1`, '--tags', 'v2'], jobDir([]).dir);
    expect(base.maxRss).toBeDefined();
    const reg = await serve(hugeBody(OCI, 64 * MiB, { announce }));
    const { dir } = jobDir([reg.host]);
    const r = await cli(RETAG_BUNDLE, ['--source', `${reg.host}/team/app:v1`, '--tags', 'v2'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the manifest of ${reg.host}/team/app:v1 is larger than 4.0 MiB`);
    expect(r.ms).toBeLessThan(15_000);
    expect(reg.seen.map((q) => q.method)).toEqual(['GET']); // not retried, no PUT
    expect(r.maxRss).toBeDefined();
    // At most the 4 MiB cap (and socket buffers) above node's own: well under the 64 MiB sent.
    expect(r.maxRss! - base.maxRss!).toBeLessThan(16 * MiB);
    expect(r.maxRss!).toBeLessThan(64 * MiB);
    // It stopped reading: what left the server is a fraction of the 64 MiB.
    expect(reg.sent.bytes).toBeLessThan(announce ? 4 * MiB : 24 * MiB);
    process.stderr.write(
      `[hostile] 64 MiB manifest ${announce ? 'announced' : 'streamed'}: max RSS ${(r.maxRss! / MiB).toFixed(1)} MiB (baseline ${(base.maxRss! / MiB).toFixed(1)} MiB), server sent ${(reg.sent.bytes / MiB).toFixed(1)} MiB, ${r.ms} ms\n`,
    );
  });

  test('a Docker-Content-Digest of md5 is refused; no digest output, nothing written', async () => {
    const reg = await serve((req, res) => {
      res.writeHead(200, { ...OCI, 'docker-content-digest': `md5:${'0'.repeat(32)}` });
      res.end(req.method === 'HEAD' ? undefined : MANIFEST);
    });
    const { dir } = jobDir([reg.host]);
    const r = await cli(RETAG_BUNDLE, ['--source', `${reg.host}/team/app:v1`, '--tags', 'v2'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${reg.host} sent Docker-Content-Digest 'md5:${'0'.repeat(32)}', not a sha256 or sha512 digest`,
    );
    expect(r.outputs.digest).toBeUndefined();
    expect(r.stdout).not.toContain('md5:');
    expect(reg.seen.map((q) => `${q.method} ${q.path}`)).toEqual(['GET /v2/team/app/manifests/v1']);
  });

  /** A registry that asks for a bearer token from `realm`; `realmSeen` records the token server's requests. */
  async function bearerRegistry(realm: (tokenHost: string) => string, tokenAddress: string) {
    const token = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'anonymous-token', expires_in: 300 }));
    }, tokenAddress);
    const reg = await serve((req, res) => {
      if (req.headers.authorization !== 'Bearer anonymous-token') {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${realm(token.host)}",service="hostile",scope="repository:team/app:pull"`,
        });
        return void res.end();
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    return { token, reg };
  }

  test.each([
    ['on another loopback host (127.0.0.2), plain HTTP', (h: string) => `http://${h}/token`, '127.0.0.2'],
    [
      'on plain HTTP under another name (localhost) than the registry (127.0.0.1)',
      (h: string) => `http://localhost:${h.split(':')[1]}/token`,
      '127.0.0.1',
    ],
  ])('a bearer realm %s gets no credential: fails before sending anything', async (_n, realm, address) => {
    const { token, reg } = await bearerRegistry(realm, address);
    const { dir, password } = jobDir([reg.host]);
    const r = await cli(RETAG_BUNDLE, ['--source', `${reg.host}/team/app:v1`, '--tags', 'v2'], dir);
    expect(r.code).toBe(1);
    const server = new URL(realm(token.host));
    expect(r.stderr).toContain(`${reg.host} asks for a token from ${server.origin}/token`);
    expect(r.stderr).toContain('nothing was sent');
    expect(r.ms).toBeLessThan(15_000);
    expect(token.seen).toEqual([]); // the realm saw nothing at all
    expect(sawCredential(reg, password)).toBe(false);
    expect(authorizations(reg)).toEqual([]);
    expectNoLeaks({ secrets: { password }, texts: { stdout: r.stdout, stderr: r.stderr } });
  });

  test('without credentials, a realm on another host is asked anonymously (as docker does)', async () => {
    const { token, reg } = await bearerRegistry((h) => `http://${h}/token`, '127.0.0.2');
    const { dir } = jobDir([]); // no entry for this registry
    const r = await cli(RETAG_BUNDLE, ['--source', `${reg.host}/team/app:v1`, '--tags', 'v2'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('source image not found');
    expect(token.seen).toHaveLength(1);
    expect(token.seen[0]!.headers.authorization).toBeUndefined();
    expect(reg.seen.map((q) => q.headers.authorization ?? 'none')).toEqual(['none', 'Bearer anonymous-token']);
  });
});

describe('hostile Vault: vault-secrets (dist bundle, CLI)', () => {
  beforeAll(() => {
    if (!fs.existsSync(VAULT_BUNDLE) || !fs.existsSync(TIME))
      throw new Error(`needs ${VAULT_BUNDLE} (npm run build) and ${TIME}`);
  });

  test('a Vault trickling one byte every 2 s fails within the 60 s deadline of all attempts', async () => {
    const vault = await serve(trickle(200, { 'content-type': 'application/json' }, { everyMs: 2000, max: 100 }));
    const { dir } = jobDir([]);
    const secrets = { roleId: canary('roleid'), secretId: canary('secretid') };
    const r = await cli(VAULT_BUNDLE, [], dir, {
      VAULT_ADDR: vault.url,
      VAULT_ROLE_ID: secrets.roleId,
      VAULT_SECRET_ID: secrets.secretId,
      V_APP_PASSWORD: 'secret/app/password',
      RUNNER_TEMP: dir,
    });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Vault at ${vault.url} did not answer completely within 30 s`);
    expect(r.ms).toBeGreaterThan(55_000);
    expect(r.ms).toBeLessThan(70_000);
    expect(vault.seen.map((q) => `${q.method} ${q.path}`)).toEqual([
      'POST /v1/auth/approle/login',
      'POST /v1/auth/approle/login',
    ]);
    expectNoLeaks({ secrets, texts: { stdout: r.stdout, stderr: r.stderr } });
  });
});
