// kaniko-build post removes only its own work dir and undoes credentials only in the file
// main writes them to.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from '../../../../src/steps/kaniko-build/post';
import type { StepCtx } from '../../../../src/steps/kaniko-build/main';
import { fakeCtx } from '../../../support/fake-ctx';

describe('kaniko-build post trusts only its own work dir and config', () => {
  let base: string;
  let temp: string;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'shipline-kaniko-post-')));
    temp = join(base, 'tmp');
    mkdirSync(temp);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  test('its own work dir goes', async () => {
    const dir = mkdtempSync(join(temp, 'shipline-kaniko-build-'));
    const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { workdir: dir } });
    await cleanup(f.ctx as StepCtx);
    expect(existsSync(dir)).toBe(false);
  });

  test('a planted work dir and a planted credentials record leave every file alone', async () => {
    const victim = join(base, 'checkout');
    mkdirSync(victim);
    const file = join(victim, 'config.json');
    writeFileSync(file, '{"auths":{"r.example":{"auth":"dTpw"}}}');
    const f = fakeCtx<StepCtx['inputs']>({
      tempDir: temp,
      env: { DOCKER_CONFIG: join(base, 'no-such-dir') },
      state: {
        workdir: victim,
        auth: {
          path: file,
          createdFile: true,
          added: { previous: { 'r.example': null }, hadAuths: false },
          helpers: {},
          hadHelpers: false,
        },
      },
    });
    await cleanup(f.ctx as StepCtx);
    expect(readFileSync(file, 'utf8')).toBe('{"auths":{"r.example":{"auth":"dTpw"}}}');
    expect(f.warnings.join('\n')).toMatch(/not touching .*config.json/);
    expect(f.warnings.join('\n')).toMatch(/not removing .*checkout/);
  });
});
