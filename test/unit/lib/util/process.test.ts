// A recorded process is signalled only while its pid runs the same command line, started
// at the same time.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processIdentity, sameProcess, signalRecorded, statStartTime } from '../../../../src/lib/util/process';

const exited = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));

describe('process identity', () => {
  test('field 22 of /proc/<pid>/stat, even with spaces and parentheses in the command', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // fields 3.. as their own numbers
    expect(statStartTime(`123 (a) b) c) ${fields.join(' ')}`)).toBe('22');
    expect(statStartTime('no parenthesis')).toBeUndefined();
    expect(statStartTime('1 (x) S 1')).toBeUndefined();
  });

  test('this process has an identity; a pid that is not running has none', () => {
    const me = processIdentity(process.pid);
    expect(me).toMatchObject({ pid: process.pid, start: expect.stringMatching(/^\d+$/) });
    expect(me!.cmdline.split('\0')[0]).toContain('node');
    expect(processIdentity(0)).toBeUndefined();
    expect(processIdentity(1.5)).toBeUndefined();
    expect(processIdentity(2 ** 22 + 7)).toBeUndefined();
  });

  test('a fake /proc: same cmdline and start match; another start or cmdline does not', () => {
    const proc = mkdtempSync(join(tmpdir(), 'shipline-proc-'));
    try {
      mkdirSync(join(proc, '4242'));
      writeFileSync(join(proc, '4242', 'cmdline'), 'ssh-agent\0-s\0-a\0/tmp/x/agent.sock\0');
      const stat = (start: number) =>
        `4242 (ssh-agent) S ${Array.from({ length: 18 }, () => '0').join(' ')} ${start} 0 0`;
      writeFileSync(join(proc, '4242', 'stat'), stat(777));
      const rec = { pid: 4242, cmdline: 'ssh-agent\0-s\0-a\0/tmp/x/agent.sock', start: '777' };
      expect(processIdentity(4242, proc)).toEqual(rec);
      expect(sameProcess(rec, proc)).toBe(true);
      expect(sameProcess({ ...rec, start: '778' }, proc)).toBe(false); // the pid was reused
      expect(sameProcess({ ...rec, cmdline: 'bash' }, proc)).toBe(false);
      expect(sameProcess({ pid: 4242 }, proc)).toBe(false); // a bare pid from a planted state
      expect(sameProcess(4242, proc)).toBe(false);
      expect(sameProcess(null, proc)).toBe(false);
      expect(signalRecorded({ ...rec, start: '1' }, 'SIGTERM', proc)).toBe('not-ours');
      expect(signalRecorded({ ...rec, pid: 4243 }, 'SIGTERM', proc)).toBe('gone');
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  test('signals the process it recorded, and not one whose record does not match', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const gone = exited(child);
    try {
      const rec = processIdentity(child.pid!);
      expect(rec).toBeDefined();
      // A planted record: the right pid, another command line or start time.
      expect(signalRecorded({ ...rec!, cmdline: 'sleep\x0031' })).toBe('not-ours');
      expect(signalRecorded({ ...rec!, start: String(Number(rec!.start) + 1) })).toBe('not-ours');
      expect(child.exitCode).toBeNull();
      expect(signalRecorded(rec)).toBe('signalled');
      expect(await gone).toBe('SIGTERM');
      expect(signalRecorded(rec)).toBe('gone');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
