// kaniko-build's network input reaches buildah: `host` builds (the RUN step sees the host's
// interfaces), and buildah's own refusal of `none` under chroot isolation shows the flag
// arrives as given.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBench, type BenchEnv } from '../support/testbed';
import { privateStorage, runKanikoBuild } from '../support/kaniko-build-run';

describeBench(['registry-open', 'base-image'], 'kaniko-build network (buildah)', (tb: BenchEnv) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-net-'));
  const storage = privateStorage(root);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  async function build(network: string) {
    const ws = fs.mkdtempSync(path.join(root, 'ws-'));
    const nonce = crypto.randomBytes(6).toString('hex');
    fs.writeFileSync(
      path.join(ws, 'Dockerfile'),
      `FROM ${tb.TB_BASE_IMAGE}\nRUN echo ${nonce} >/dev/null; test "$(ls /sys/class/net | wc -l)" -gt 1\n`,
    );
    return runKanikoBuild(
      [
        '--builder',
        'buildah',
        '--isolation',
        'chroot',
        '--push',
        'false',
        '--network',
        network,
        '--images',
        `${tb.TB_REGISTRY_OPEN}/kb-net/app`,
      ],
      {
        PATH: process.env.PATH,
        HOME: root,
        ...storage.env,
        TMPDIR: root,
        SHIPLINE_RUN_DIR: fs.mkdtempSync(path.join(root, 'run-')),
        GITLAB_CI: 'true',
        CI_PROJECT_DIR: ws,
        CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
        CI_COMMIT_BRANCH: 'main',
        CI_DEFAULT_BRANCH: 'main',
      },
      ws,
    );
  }

  test('host: the RUN step sees the host interfaces; none under chroot: buildah refuses it', async () => {
    const host = await build('host');
    expect({ code: host.code, err: host.code === 0 ? '' : host.stderr }).toEqual({ code: 0, err: '' });
    const none = await build('none');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('cannot set --network other than host with --isolation chroot');
  });
});
