// buildah's bud and push command lines for a build; TLS verification off only for loopback registries.
import { budArgs, budInsecure, pushArgs } from '../../../../src/lib/build/buildah';
import { isLoopbackRegistry } from '../../../../src/lib/registry/reference';
import { daemonlessBuild as plan } from '../../../support/daemonless-build';

describe('buildah command lines', () => {
  test('bud: isolation, file, iidfile, target, args, labels, tags, cache, authfile, context last', () => {
    expect(budArgs(plan(), { isolation: 'chroot', iidFile: '/t/iid', authFile: '/t/auth.json' })).toEqual([
      'bud',
      '--isolation',
      'chroot',
      '-f',
      '/ws/app/Dockerfile',
      '--iidfile',
      '/t/iid',
      '--target',
      'final',
      '--build-arg',
      'PKG_VERSIONS=pinned',
      '--build-arg',
      'MSG=a b',
      '--label',
      'org.opencontainers.image.revision=0123',
      '--label',
      'org.opencontainers.image.version=01234567',
      '-t',
      'harbor.example.com/team/app:01234567',
      '-t',
      'harbor.example.com/team/app:latest',
      '--layers',
      '--cache-from',
      'harbor.example.com/team/app/cache',
      '--cache-to',
      'harbor.example.com/team/app/cache',
      '--authfile',
      '/t/auth.json',
      '/ws/app',
    ]);
  });
  test('smoke bud: smoke target, untagged, no labels, never --cache-to', () => {
    const a = budArgs(plan(), { isolation: 'oci', iidFile: '/t/s', authFile: undefined, smoke: true });
    expect(a.slice(0, 9)).toEqual([
      'bud',
      '--isolation',
      'oci',
      '-f',
      '/ws/app/Dockerfile',
      '--iidfile',
      '/t/s',
      '--target',
      'smoke-test',
    ]);
    expect(a).not.toContain('-t');
    expect(a).not.toContain('--label');
    expect(a).not.toContain('--cache-to');
    expect(a).not.toContain('--authfile');
  });
  test('TLS verification is off only for loopback registries', () => {
    expect(budInsecure(plan())).toBe(false);
    expect(budInsecure(plan({ pullRegistries: ['127.0.0.1:5001'], cache: false }))).toBe(true);
    expect(budInsecure(plan({ pullRegistries: ['127.0.0.1:5001', 'docker.io'] }))).toBe(false);
    expect(budInsecure(plan({ pullRegistries: [] }))).toBe(false);
    expect(pushArgs('sha256:abc', '127.0.0.1:5002/app:1', { authFile: '/a', digestFile: '/d' })).toEqual([
      'push',
      '--digestfile',
      '/d',
      '--authfile',
      '/a',
      '--tls-verify=false',
      'sha256:abc',
      'docker://127.0.0.1:5002/app:1',
    ]);
    expect(pushArgs('id', 'harbor.example.com/app:1', { authFile: undefined, digestFile: '/d' })).toEqual([
      'push',
      '--digestfile',
      '/d',
      'id',
      'docker://harbor.example.com/app:1',
    ]);
    expect(['localhost:5000', '127.0.0.1', '[::1]:5000'].every(isLoopbackRegistry)).toBe(true);
    expect(['127.example.com', '10.0.0.1:5000', 'localhost.evil.com'].some(isLoopbackRegistry)).toBe(false);
  });
  test('network: --network for the RUN steps, smoke build included', () => {
    for (const smoke of [false, true]) {
      const a = budArgs(plan(), { isolation: 'chroot', iidFile: '/t/i', authFile: undefined, smoke, network: 'host' });
      expect(a.slice(a.indexOf('--network'), a.indexOf('--network') + 2)).toEqual(['--network', 'host']);
    }
    expect(budArgs(plan(), { isolation: 'chroot', iidFile: '/t/i', authFile: undefined })).not.toContain('--network');
  });
});
