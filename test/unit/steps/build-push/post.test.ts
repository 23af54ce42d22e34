// build-push post acts only on names shaped like its own temporaries and on its private
// docker config under the job's temp dir: a planted state removes nothing else.
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from '../../../../src/steps/build-push/post';
import type { StepCtx } from '../../../../src/steps/build-push/main';
import { fakeCtx } from '../../../support/fake-ctx';
import { fakeDocker } from '../../../support/fake-docker';

describe('build-push post trusts only its own temporaries', () => {
  let base: string;
  let temp: string;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'shipline-bp-post-')));
    temp = join(base, 'tmp');
    mkdirSync(temp);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  test('planted names and a planted config dir: no docker call, nothing deleted', async () => {
    const victim = join(base, 'checkout');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep'), 'x');
    const fake = fakeDocker({ buildx: false });
    const f = fakeCtx<StepCtx['inputs']>({
      tempDir: temp,
      env: { PATH: `${fake.bin.replace(/\/docker$/, '')}:${process.env.PATH ?? ''}` },
      state: {
        'build-push-temporaries': {
          containers: ['production-db', '--all'],
          images: ['registry.example.com/team/app:latest'],
          pulled: [],
          configDir: victim,
        },
      },
    });
    await cleanup(f.ctx as StepCtx);
    expect(existsSync(join(victim, 'keep'))).toBe(true);
    expect(fake.calls()).toEqual([]);
    expect(f.warnings.join('\n')).toMatch(/ignoring recorded names this step does not create: production-db, --all/);
  });

  test('its own work dir (labelled Dockerfile, 0600 secret files) goes; a planted one stays', async () => {
    const fake = fakeDocker({ buildx: false });
    const workDir = mkdtempSync(join(temp, 'shipline-build-push-work-'));
    writeFileSync(join(workDir, 'secret-0'), 'value', { mode: 0o600 });
    const victim = join(base, 'shipline-build-push-work-abcdef'); // the right shape, outside the temp dir
    mkdirSync(victim);
    for (const [dir, gone] of [
      [workDir, true],
      [victim, false],
    ] as const) {
      const f = fakeCtx<StepCtx['inputs']>({
        tempDir: temp,
        env: { PATH: `${fake.bin.replace(/\/docker$/, '')}:${process.env.PATH ?? ''}` },
        state: { 'build-push-temporaries': { containers: [], images: [], pulled: [], workDir: dir } },
      });
      await cleanup(f.ctx as StepCtx);
      expect(existsSync(dir)).toBe(!gone);
      if (!gone)
        expect(f.warnings.join('\n')).toMatch(/ignoring recorded names this step does not create: .*work-abcdef/);
    }
  });

  test('its own names are removed, its own config dir goes', async () => {
    const fake = fakeDocker({ buildx: false });
    const configDir = mkdtempSync(join(temp, 'shipline-build-push-config-'));
    const id = 'shipline-build-push-0123456789';
    const f = fakeCtx<StepCtx['inputs']>({
      tempDir: temp,
      env: { PATH: `${fake.bin.replace(/\/docker$/, '')}:${process.env.PATH ?? ''}` },
      state: {
        'build-push-temporaries': { containers: [`${id}-extract`], images: [`${id}:build`], pulled: [], configDir },
      },
    });
    await cleanup(f.ctx as StepCtx);
    expect(existsSync(configDir)).toBe(false);
    const calls = fake.calls().map((c) => c.join(' '));
    expect(calls).toContain(`rm --force ${id}-extract`);
    expect(calls).toContain(`image rm ${id}:build`);
  });
});
