// build-push's network input reaches the build's RUN steps: with `none` a RUN step sees only
// the loopback interface, with `host` the engine host's interfaces too (what a RUN that
// installs packages needs on an engine without a default bridge, like the bench's).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBench, type BenchEnv } from '../support/testbed';
import { runBuildPush } from '../support/build-push-run';

describeBench(['dockerd', 'base-image'], 'build-push network', (env: BenchEnv) => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  async function interfaces(network: string): Promise<string[]> {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-bp-net-'));
    dirs.push(ws);
    // a RUN line of its own per run: the classic builder's cache does not key on --network
    const nonce = crypto.randomBytes(6).toString('hex');
    fs.writeFileSync(
      path.join(ws, 'Dockerfile'),
      ['ARG BASE_IMAGE', 'FROM ${BASE_IMAGE}', `RUN echo ${nonce} >/dev/null; ls /sys/class/net > /ifaces`, ''].join(
        '\n',
      ),
    );
    const r = await runBuildPush({
      workspace: ws,
      inputs: {
        images: `127.0.0.1:1/bp-net-${crypto.randomBytes(4).toString('hex')}/app`,
        push: 'false',
        network,
        'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`,
        'cache-from': 'none',
        extract: '/ifaces:ifaces.txt',
      },
      env: { ...process.env, SHIPLINE_RUN_DIR: path.join(ws, '..', `${path.basename(ws)}-run`) },
    });
    if (r.code !== 0) throw new Error(`build-push --network ${network} exited ${r.code}\n${r.stderr}`);
    return fs.readFileSync(path.join(ws, 'ifaces.txt'), 'utf8').split(/\s+/).filter(Boolean);
  }

  test('none: only lo; host: the host’s interfaces as well', async () => {
    expect(await interfaces('none')).toEqual(['lo']);
    const host = await interfaces('host');
    expect(host).toContain('lo');
    expect(host.length).toBeGreaterThan(1);
  });

  test('a value shaped like an option is refused (exit 2) before docker runs', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-bp-net-'));
    dirs.push(ws);
    fs.writeFileSync(path.join(ws, 'Dockerfile'), 'FROM scratch\n');
    const r = await runBuildPush({ workspace: ws, inputs: { images: '127.0.0.1:1/x/app', network: '--privileged' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/input 'network'/);
  });
});
