// ecr-login's post restores the docker config exactly from saved state (GitLab/CLI
// runtime, state file).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAuths } from '../../../../src/lib/registry/docker-config';
import { runStep } from '../../../../src/runtime/run';
import step from '../../../../src/steps/ecr-login/index';

const capture = () => {
  let out = '';
  return { text: () => out, opts: { stdout: (s: string) => void (out += s), stderr: (s: string) => void (out += s) } };
};

describe('ecr-login post restores the docker config from saved state', () => {
  const dirs: string[] = [];
  const mkdtemp = (prefix: string) => {
    const d = mkdtempSync(prefix);
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  test('an entry it replaced comes back, one it added goes, others stay', async () => {
    const dir = mkdtemp(join(tmpdir(), 'shipline-ecr-unit-'));
    const config = join(dir, 'docker', 'config.json');
    const before = {
      auths: {
        'other.example': { auth: 'b3RoZXI6eA==' },
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com': { auth: 'b2xkOng=' },
      },
      credHelpers: { 'x.example': 'pass' },
    };
    mkdirSync(join(dir, 'docker'));
    writeFileSync(config, JSON.stringify(before));
    const added = addAuths(config, [
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', username: 'AWS', password: 'p1' },
      { registry: '210987654321.dkr.ecr.eu-west-1.amazonaws.com', username: 'AWS', password: 'p2' },
    ]);
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    writeFileSync(
      join(stateDir, 'ecr-login.json'),
      JSON.stringify({
        added: JSON.stringify({
          path: config,
          method: 'config',
          createdFile: false,
          hadAuths: added.hadAuths,
          previous: added.previous,
        }),
      }),
    );
    const c = capture();
    const code = await runStep(step, {
      env: { SHIPLINE_STATE_DIR: stateDir, DOCKER_CONFIG: join(dir, 'docker') },
      argv: ['--post'],
      viaCli: true,
      cwd: dir,
      ...c.opts,
    });
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual(before);
    expect(c.text()).toMatch(/restored the entries they replaced/);
  });

  test.each([[{ auths: {}, credsStore: 'desktop' }], [{ credsStore: 'desktop' }]])(
    'a config %j comes back exactly (empty auths kept or absent)',
    async (before) => {
      const dir = mkdtemp(join(tmpdir(), 'shipline-ecr-unit-'));
      mkdirSync(join(dir, 'docker'));
      const config = join(dir, 'docker', 'config.json');
      writeFileSync(config, JSON.stringify(before));
      const added = addAuths(config, [
        { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', username: 'AWS', password: 'p' },
      ]);
      const stateDir = join(dir, 'state');
      mkdirSync(stateDir);
      writeFileSync(
        join(stateDir, 'ecr-login.json'),
        JSON.stringify({
          added: JSON.stringify({
            path: config,
            method: 'config',
            createdFile: false,
            hadAuths: 'auths' in before,
            previous: added.previous,
          }),
        }),
      );
      expect(
        await runStep(step, {
          env: { SHIPLINE_STATE_DIR: stateDir, DOCKER_CONFIG: join(dir, 'docker') },
          argv: ['--post'],
          viaCli: true,
          cwd: dir,
          ...capture().opts,
        }),
      ).toBe(0);
      expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual(before);
      // The copy of replaced entries is dropped (a cleared slot: empty or gone).
      expect(
        (JSON.parse(readFileSync(join(stateDir, 'ecr-login.json'), 'utf8')) as { added?: string }).added ?? '',
      ).toBe('');
    },
  );

  test('no saved state (logout: false, or main never ran): post changes nothing', async () => {
    const dir = mkdtemp(join(tmpdir(), 'shipline-ecr-unit-'));
    const c = capture();
    expect(
      await runStep(step, {
        env: { SHIPLINE_STATE_DIR: join(dir, 'state'), DOCKER_CONFIG: join(dir, 'docker') },
        argv: ['--post'],
        viaCli: true,
        cwd: dir,
        ...c.opts,
      }),
    ).toBe(0);
    expect(existsSync(join(dir, 'docker', 'config.json'))).toBe(false);
  });
});
