// The kaniko executor's command lines for a build (flags as the kaniko README documents
// them) and kaniko's docker-config location rule.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kanikoArgs, kanikoConfigDir, kanikoSmokeArgs } from '../../../../src/lib/build/kaniko';
import { daemonlessBuild as plan } from '../../../support/daemonless-build';

const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-unit-'));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('kaniko command line (flags as the kaniko README documents them)', () => {
  test('main build: context, dockerfile, one --destination per tag, target, build args, labels, cache, digest files', () => {
    expect(kanikoArgs(plan(), { digestFile: '/t/digest', imageNameWithDigestFile: '/t/name' })).toEqual([
      '--context=dir:///ws/app',
      '--dockerfile=/ws/app/Dockerfile',
      '--destination=harbor.example.com/team/app:01234567',
      '--destination=harbor.example.com/team/app:latest',
      '--target=final',
      '--build-arg=PKG_VERSIONS=pinned',
      '--build-arg=MSG=a b',
      '--label=org.opencontainers.image.revision=0123',
      '--label=org.opencontainers.image.version=01234567',
      '--cache=true',
      '--cache-repo=harbor.example.com/team/app/cache',
      '--digest-file=/t/digest',
      '--image-name-with-digest-file=/t/name',
    ]);
  });
  test('push: false adds --no-push; no cache, no target: neither flag; loopback registries get --insecure-registry', () => {
    const args = kanikoArgs(
      plan({
        push: false,
        cache: false,
        target: undefined,
        refs: ['127.0.0.1:5002/app:x'],
        pullRegistries: ['127.0.0.1:5001'],
        pushRegistries: ['127.0.0.1:5002'],
      }),
      {
        digestFile: '/d',
        imageNameWithDigestFile: '/n',
      },
    );
    expect(args).toContain('--no-push');
    expect(args.filter((a) => a.startsWith('--insecure-registry='))).toEqual([
      '--insecure-registry=127.0.0.1:5001',
      '--insecure-registry=127.0.0.1:5002',
    ]);
    expect(args.some((a) => a.startsWith('--cache') || a.startsWith('--target'))).toBe(false);
  });
  test('smoke build: the smoke target, nothing pushed, --cleanup for the next build in the same container', () => {
    expect(kanikoSmokeArgs(plan())).toEqual([
      '--context=dir:///ws/app',
      '--dockerfile=/ws/app/Dockerfile',
      '--target=smoke-test',
      '--build-arg=PKG_VERSIONS=pinned',
      '--build-arg=MSG=a b',
      '--no-push',
      '--no-push-cache',
      '--cleanup',
    ]);
  });
  test("config location follows kaniko's rule: DOCKER_CONFIG when a directory, else /kaniko/.docker; an input wins", () => {
    const dir = tmp();
    expect(kanikoConfigDir({})).toBe('/kaniko/.docker');
    expect(kanikoConfigDir({ DOCKER_CONFIG: dir + '/' })).toBe(dir);
    expect(kanikoConfigDir({ DOCKER_CONFIG: path.join(dir, 'missing') })).toBe('/kaniko/.docker');
    expect(kanikoConfigDir({ DOCKER_CONFIG: dir }, '/cfg')).toBe('/cfg');
  });
});
