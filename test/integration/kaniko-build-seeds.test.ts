// kaniko-build with the real buildah 1.28 on the seeds' own Dockerfiles (issue 16 item 8):
// `ARG PKG_VERSIONS=pinned` before the first FROM, then `FROM pkg-${PKG_VERSIONS}`, which
// buildah alone cannot build (it does not expand a global ARG default in FROM). The step
// passes the default explicitly, so examples/app (busybox) and examples/seed-c (Debian,
// python3 + jq + make from apt over the host network) build, smoke stage first, and push;
// the labels are one LABEL step, none on the smoke build; a bare NAME build argument keeps
// its value out of argv; the image output is <repository>@<digest>, as skopeo sees it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBench, type BenchEnv } from '../support/testbed';
import { repoRoot, run } from '../support/exec';
import { createArgvRecorder } from '../support/canary';
import { privateStorage, runKanikoBuild } from '../support/kaniko-build-run';

jest.setTimeout(600_000);

const SHA = 'fedcba9876543210fedcba9876543210fedcba98';

describeBench(
  ['registry-open', 'base-image', 'dockerd'],
  'kaniko-build (buildah) on the seeds’ Dockerfiles',
  (tb: BenchEnv) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-seeds-'));
    const storage = privateStorage(root);
    const recorder = createArgvRecorder({ binaries: ['buildah'], dir: path.join(root, 'argv') });
    const uniq = () => crypto.randomBytes(4).toString('hex');
    afterAll(() => {
      recorder.cleanup();
      fs.rmSync(root, { recursive: true, force: true });
    });

    const workspace = (example: string) => {
      const ws = fs.mkdtempSync(path.join(root, 'ws-'));
      fs.cpSync(path.join(repoRoot, 'examples', example), ws, { recursive: true });
      return ws;
    };
    const envFor = (ws: string, extra: Record<string, string> = {}): Record<string, string | undefined> => ({
      PATH: [recorder.binDir, process.env.PATH].join(path.delimiter),
      HOME: path.join(root, 'home'),
      ...storage.env,
      TMPDIR: root,
      SHIPLINE_RUN_DIR: fs.mkdtempSync(path.join(root, 'run-')),
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: ws,
      CI_COMMIT_SHA: SHA,
      CI_COMMIT_BRANCH: 'main',
      CI_DEFAULT_BRANCH: 'main',
      CI_PIPELINE_SOURCE: 'push',
      ...extra,
    });
    const inspect = async (ref: string, config = false) => {
      const res = await run(
        'skopeo',
        ['inspect', ...(config ? ['--config'] : []), '--tls-verify=false', `docker://${ref}`],
        {
          timeoutMs: 60_000,
        },
      );
      expect(res.code).toBe(0);
      return JSON.parse(res.stdout) as Record<string, unknown>;
    };
    const labelSteps = (log: string) => log.split('\n').filter((l) => /^(\[\d+\/\d+\] )?STEP \d+\/\d+: LABEL /.test(l));

    test('buildah alone fails on the seed pattern (the bug), kaniko-build passes the global ARG default and builds', async () => {
      const ws = workspace('app');
      const bare = await run(
        'buildah',
        [
          'bud',
          '--isolation',
          'chroot',
          '--tls-verify=false',
          '--build-arg',
          `BASE_IMAGE=${tb.TB_BASE_IMAGE}`,
          '--target',
          'target-image',
          '-f',
          path.join(ws, 'Dockerfile'),
          ws,
        ],
        { env: { ...process.env, ...storage.env }, timeoutMs: 120_000 },
      );
      expect(bare.code).not.toBe(0);
      expect(bare.stdout + bare.stderr).toMatch(/pkg-pinned/);

      const image = `${tb.TB_REGISTRY_OPEN}/kb-seed-app-${uniq()}/app`;
      const r = await runKanikoBuild(
        [
          '--builder',
          'buildah',
          '--images',
          image,
          '--build-args',
          'BASE_IMAGE',
          '--target',
          'target-image',
          '--smoke-target',
          'smoke-test',
          '--labels',
          'team=platform\nshipline.note=say "hi" to $HOME',
        ],
        envFor(ws, { BASE_IMAGE: tb.TB_BASE_IMAGE }),
        ws,
      );
      if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr.split('\n').slice(-30).join('\n')}`);
      expect(r.stderr).toContain('global ARG defaults passed to buildah: PKG_VERSIONS=pinned');
      // the smoke build first, without labels; the main build with all of them in one LABEL step
      const [smoke, main] = r.stderr.split('buildah build');
      expect(smoke).toContain('buildah smoke build (target smoke-test)');
      expect(labelSteps(smoke!)).toEqual([]);
      expect(labelSteps(main!)).toHaveLength(1);
      const buds = recorder.records().filter((c) => c.argv[0] === 'bud' && c.argv.includes(path.join(ws)));
      expect(buds).toHaveLength(2);
      for (const b of buds) {
        const args = b.argv.flatMap((a, i) => (b.argv[i - 1] === '--build-arg' ? [a] : []));
        // the bare name stays a name (buildah reads its value from the environment)
        expect(args).toEqual(['BASE_IMAGE', 'PKG_VERSIONS=pinned']);
        expect(b.argv).not.toContain('--label');
        expect(b.argv.join(' ')).not.toContain(tb.TB_BASE_IMAGE);
      }
      // pushed: the image output by digest, as the registry reports it
      expect(r.outputs.image).toBe(`${image}@${r.outputs.digest}`);
      const info = await inspect(`${image}@${r.outputs.digest}`);
      expect(info.Digest).toBe(r.outputs.digest);
      const labels = info.Labels as Record<string, string>;
      expect(labels.team).toBe('platform');
      expect(labels['shipline.note']).toBe('say "hi" to $HOME');
      expect(labels['org.opencontainers.image.revision']).toBe(SHA);
      const config = (await inspect(`${image}:latest`, true)) as { history: { created_by?: string }[] };
      expect(config.history.filter((h) => /LABEL/.test(h.created_by ?? ''))).toHaveLength(1);
      // and it is the app's target stage (one history entry per instruction, the LABEL last)
      expect(config.history.map((h) => h.created_by ?? '').slice(-2)[0]).toContain('CMD ["sh", "/src/app.sh"]');
    });

    test('examples/seed-c (Debian + apt packages pinned by the lock) builds with buildah: smoke-test then target-image', async () => {
      // A real Debian base in the bench registry (scripts/job-image base makes local/debian:bookworm once).
      const made = await run('bash', [path.join(repoRoot, 'scripts', 'job-image'), 'base'], { timeoutMs: 900_000 });
      expect(made.code).toBe(0);
      const base = `${tb.TB_REGISTRY_OPEN}/kb-seed-c-base-${uniq()}/debian:bookworm`;
      expect((await run('docker', ['tag', 'local/debian:bookworm', base])).code).toBe(0);
      try {
        const pushed = await run('docker', ['push', base], { timeoutMs: 300_000 });
        expect(pushed.code).toBe(0);
      } finally {
        await run('docker', ['image', 'rm', base]);
      }
      const ws = workspace('seed-c');
      const image = `${tb.TB_REGISTRY_OPEN}/kb-seed-c-${uniq()}/app`;
      const r = await runKanikoBuild(
        [
          '--builder',
          'buildah',
          '--images',
          image,
          '--build-args',
          `BASE_IMAGE=${base}`,
          '--target',
          'target-image',
          '--smoke-target',
          'smoke-test',
          '--network',
          'host',
          '--cache', // --layers: the target build reuses the smoke build's package stage
        ],
        envFor(ws),
        ws,
      );
      if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr.split('\n').slice(-40).join('\n')}`);
      expect(r.stderr).toContain('global ARG defaults passed to buildah: PKG_VERSIONS=pinned');
      expect(r.stderr).toMatch(/make test|python3 -m/); // the smoke stage ran the app's tests
      expect(r.outputs.image).toBe(`${image}@${r.outputs.digest}`);
      const config = (await inspect(`${image}:latest`, true)) as {
        config: { Entrypoint?: string[] };
        history: { created_by?: string }[];
      };
      expect(config.config.Entrypoint).toEqual(['python3', '-m', 'app.report']);
      expect(config.history.filter((h) => /LABEL/.test(h.created_by ?? ''))).toHaveLength(1);
      expect((await inspect(`${image}:latest`)).Digest).toBe(r.outputs.digest);
    });
  },
);
