// vault-secrets post acts only on what it made: a recorded directory outside the job's
// temp dir, or not shaped like its own, is left alone.
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { post } from '../../../../src/steps/vault-secrets/post';
import type { StepCtx } from '../../../../src/steps/vault-secrets/main';
import { fakeCtx } from '../../../support/fake-ctx';

describe('vault-secrets post trusts only its own directory', () => {
  let base: string;
  let temp: string;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'shipline-vault-post-')));
    temp = join(base, 'tmp');
    mkdirSync(temp);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  test('its own export: file directory under the temp dir is removed', async () => {
    const dir = mkdtempSync(join(temp, 'shipline-vault-'));
    writeFileSync(join(dir, 'DB_PASSWORD'), 'x');
    const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { dir } });
    await post(f.ctx as StepCtx);
    expect(existsSync(dir)).toBe(false);
    expect(f.state.has('dir')).toBe(false);
  });

  test.each([
    ['a directory of the checkout', (victim: string) => victim],
    ['a look-alike name outside the temp dir', (victim: string) => join(victim, '..', 'shipline-vault-abcdef')],
    ['a path climbing out', (_v: string, t: string) => join(t, 'shipline-vault-abcdef', '..', '..', 'victim')],
  ])('%s is not deleted', async (_what, pick) => {
    const victim = join(base, 'victim');
    mkdirSync(victim);
    mkdirSync(join(base, 'shipline-vault-abcdef'));
    writeFileSync(join(victim, 'keep'), 'x');
    const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { dir: pick(victim, temp) } });
    await post(f.ctx as StepCtx);
    expect(existsSync(join(victim, 'keep'))).toBe(true);
    expect(existsSync(join(base, 'shipline-vault-abcdef'))).toBe(true);
    expect(f.warnings.join('\n')).toMatch(/not removing .*not a directory this step created/);
  });

  test('a malformed token record makes no request', async () => {
    const f = fakeCtx<StepCtx['inputs']>({
      tempDir: temp,
      state: { token: { url: 'file:///etc/passwd', token: 'x', namespace: null } },
    });
    await post(f.ctx as StepCtx);
    expect(f.logs).toEqual([]);
  });
});
