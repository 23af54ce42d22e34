// A DaemonlessBuild as kaniko-build's plan makes it, for the command-line and auth tests.
import type { DaemonlessBuild } from '../../src/lib/build/daemonless';

export function daemonlessBuild(over: Partial<DaemonlessBuild> = {}): DaemonlessBuild {
  return {
    context: '/ws/app',
    dockerfile: '/ws/app/Dockerfile',
    target: 'final',
    smokeTarget: 'smoke-test',
    buildArgs: ['PKG_VERSIONS=pinned', 'MSG=a b'],
    refs: ['harbor.example.com/team/app:01234567', 'harbor.example.com/team/app:latest'],
    labels: { 'org.opencontainers.image.revision': '0123', 'org.opencontainers.image.version': '01234567' },
    cache: true,
    cacheRepo: 'harbor.example.com/team/app/cache',
    push: true,
    pullRegistries: ['docker.io'],
    pushRegistries: ['harbor.example.com'],
    ...over,
  };
}
