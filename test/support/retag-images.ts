// Test images for retag, pushed straight through the registry API (no docker build):
// random layers, a config naming the platform, a manifest, and optionally an index of
// several platforms. Also a docker config writer for the bench registries.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RegistryClient } from '../../src/lib/registry/client';
import { credentialsFor, readDockerConfig } from '../../src/lib/registry/docker-config';
import { repositoryScope } from '../../src/lib/registry/auth';
import { digestOf, MEDIA_TYPES, putManifest, type Descriptor, type Manifest } from '../../src/lib/registry/manifest';
import type { BenchEnv } from './testbed';

export const uniq = (prefix: string) => `${prefix}-${crypto.randomBytes(4).toString('hex')}`;

/** A DOCKER_CONFIG dir with auths for the basic and token registries (and their proxies). */
export function writeBenchDockerConfig(
  env: BenchEnv,
  override: Record<string, { user: string; password: string }> = {},
): { dir: string; path: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retag-docker-'));
  const entry = (user: string, password: string) => ({ auth: Buffer.from(`${user}:${password}`).toString('base64') });
  const auths: Record<string, { auth: string }> = {
    [env.TB_REGISTRY_BASIC]: entry(env.TB_REGISTRY_BASIC_USER, env.TB_REGISTRY_BASIC_PASSWORD),
    [env.TB_REGISTRY_TOKEN]: entry(env.TB_REGISTRY_TOKEN_USER, env.TB_REGISTRY_TOKEN_PASSWORD),
    [env.TB_REGISTRY_TOKEN_PROXY]: entry(env.TB_REGISTRY_TOKEN_USER, env.TB_REGISTRY_TOKEN_PASSWORD),
  };
  for (const [k, v] of Object.entries(override)) auths[k] = entry(v.user, v.password);
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ auths }), { mode: 0o600 });
  return { dir, path: file };
}

/** A client for tests, with credentials from the given docker config. */
export function testClient(registry: string, configPath: string, repos: string[]): RegistryClient {
  return new RegistryClient({
    registry,
    configPath,
    scopes: repos.map((r) => repositoryScope(r, ['pull', 'push'])),
    credential: async () => credentialsFor(readDockerConfig(configPath), registry, configPath),
  });
}

export async function pushBlob(c: RegistryClient, repo: string, data: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = digestOf(data);
  const start = await c.request('POST', `/v2/${repo}/blobs/uploads/`, { ok: [202] });
  await start.discard();
  const url = new URL(start.headers.get('location')!, c.base);
  url.searchParams.set('digest', digest);
  const put = await c.request('PUT', '', {
    url: url.toString(),
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
    ok: [201],
  });
  await put.discard();
  return { mediaType, digest, size: data.length };
}

export interface Platform {
  os: string;
  architecture: string;
}

/** An OCI image of random layers (sizes in bytes) for a platform, tagged `tag`. */
export async function pushRandomImage(
  c: RegistryClient,
  repo: string,
  tag: string,
  opts: { layers?: number[]; platform?: Platform } = {},
): Promise<Manifest> {
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: Descriptor[] = [];
  for (const size of opts.layers ?? [4096])
    layers.push(await pushBlob(c, repo, crypto.randomBytes(size), 'application/vnd.oci.image.layer.v1.tar'));
  const config = Buffer.from(
    JSON.stringify({
      ...platform,
      created: new Date(0).toISOString(),
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const cfg = await pushBlob(c, repo, config, 'application/vnd.oci.image.config.v1+json');
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: cfg, layers }),
  );
  const m: Manifest = { bytes, mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(bytes) };
  await putManifest(c, repo, tag, m);
  return m;
}

/** An OCI index over two freshly pushed platform images. */
export async function pushIndex(
  c: RegistryClient,
  repo: string,
  tag: string,
  platforms: Platform[] = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ],
): Promise<Manifest> {
  const manifests = [];
  for (const p of platforms) {
    const child = await pushRandomImage(c, repo, `${tag}-${p.architecture}`, { platform: p });
    manifests.push({ mediaType: child.mediaType, digest: child.digest, size: child.bytes.length, platform: p });
  }
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }, null, 2));
  const m: Manifest = { bytes, mediaType: MEDIA_TYPES.ociIndex, digest: digestOf(bytes) };
  await putManifest(c, repo, tag, m);
  return m;
}
