// ssh-key post signals only the agent it started (pid, command line and start time all
// match) and removes only its own key directory under the job's temp dir.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processIdentity } from '../../../../src/lib/util/process';
import { post } from '../../../../src/steps/ssh-key/post';
import type { StepCtx } from '../../../../src/steps/ssh-key/main';
import { fakeCtx } from '../../../support/fake-ctx';

describe('ssh-key post trusts only what it started', () => {
  let base: string;
  let temp: string;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'shipline-ssh-post-')));
    temp = join(base, 'tmp');
    mkdirSync(temp);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  test('an unrelated process named by a planted record is not signalled', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const id = processIdentity(other.pid!)!;
      for (const agent of [
        { pid: other.pid!, cmdline: 'ssh-agent\0-s', start: id.start },
        { pid: other.pid!, cmdline: id.cmdline, start: '1' },
        { pid: other.pid! } as never,
      ]) {
        const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { agent } });
        await post(f.ctx as StepCtx);
      }
      // Still running: not killed by any of the records.
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
      expect(processIdentity(other.pid!)).toEqual(id);
    } finally {
      other.kill('SIGKILL');
    }
  });

  test('the process it recorded is stopped', async () => {
    const agent = spawn('sleep', ['30'], { stdio: 'ignore' });
    const gone = new Promise((ok) => agent.once('exit', (_c, s) => ok(s)));
    const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { agent: { ...processIdentity(agent.pid!)! } } });
    await post(f.ctx as StepCtx);
    expect(await gone).toBe('SIGTERM');
    expect(f.state.has('agent')).toBe(false);
  });

  test('its own key directory goes; a planted one stays', async () => {
    const mine = mkdtempSync(join(temp, 'shipline-ssh-'));
    const victim = join(base, 'shipline-ssh-abcdef');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep'), 'x');
    await post(fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { dir: mine } }).ctx as StepCtx);
    expect(existsSync(mine)).toBe(false);
    const f = fakeCtx<StepCtx['inputs']>({ tempDir: temp, state: { dir: victim } });
    await post(f.ctx as StepCtx);
    expect(existsSync(join(victim, 'keep'))).toBe(true);
    expect(f.warnings.join('\n')).toMatch(/not removing/);
  });
});
