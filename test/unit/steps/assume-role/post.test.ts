// assume-role post removes only the private directory main makes under the job's temp dir.
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { post } from '../../../../src/steps/assume-role/post';
import type { StepCtx } from '../../../../src/steps/assume-role/main';
import { fakeCtx } from '../../../support/fake-ctx';

describe('assume-role post trusts only its own directory', () => {
  let base: string;
  let temp: string;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'shipline-aws-post-')));
    temp = join(base, 'tmp');
    mkdirSync(temp);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  test('its own directory goes', async () => {
    const dir = mkdtempSync(join(temp, 'shipline-aws-'));
    const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { dir } });
    await post(f.ctx as StepCtx);
    expect(existsSync(dir)).toBe(false);
  });

  test('a planted path, or a link with its name pointing out, stays', async () => {
    const victim = join(base, 'checkout');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep'), 'x');
    symlinkSync(victim, join(temp, 'shipline-aws-AAAAAA'));
    for (const dir of [victim, '/', join(temp, 'shipline-aws-AAAAAA'), join(temp, 'other')]) {
      const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { dir } });
      await post(f.ctx as StepCtx);
      expect(f.warnings.join('\n')).toMatch(/not removing/);
    }
    expect(existsSync(join(victim, 'keep'))).toBe(true);
  });
});
