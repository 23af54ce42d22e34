// A process a step started, known by more than its pid: its command line and its start
// time (field 22 of /proc/<pid>/stat, clock ticks after boot). A pid is reused once its
// process exits, so cleanup signals a recorded pid only when both still match.
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** argv joined by NUL, as /proc/<pid>/cmdline holds it (trailing NUL dropped). */
  cmdline: string;
  /** Start time in clock ticks after boot (/proc/<pid>/stat field 22), as a decimal string. */
  start: string;
}

const validPid = (pid: unknown): pid is number => typeof pid === 'number' && Number.isInteger(pid) && pid > 1;

/** Field 22 of a /proc/<pid>/stat line; the command (field 2) is in parentheses and may hold spaces or ')'. */
export function statStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the command start at field 3 (state): field 22 is the 20th of them.
  const rest = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const start = rest[19];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** The identity of a running process, or undefined when there is none (or no /proc to tell). */
export function processIdentity(pid: number, proc = '/proc'): ProcessIdentity | undefined {
  if (!validPid(pid)) return undefined;
  try {
    const cmdline = readFileSync(`${proc}/${pid}/cmdline`, 'utf8').replace(/\0$/, '');
    const start = statStartTime(readFileSync(`${proc}/${pid}/stat`, 'utf8'));
    if (start === undefined || cmdline === '') return undefined; // a zombie has an empty cmdline
    return { pid, cmdline, start };
  } catch {
    return undefined;
  }
}

/** Whether a recorded identity (from state: anything) still names the same running process. */
export function sameProcess(recorded: unknown, proc = '/proc'): recorded is ProcessIdentity {
  if (typeof recorded !== 'object' || recorded === null) return false;
  const r = recorded as Partial<ProcessIdentity>;
  if (!validPid(r.pid) || typeof r.cmdline !== 'string' || typeof r.start !== 'string') return false;
  const now = processIdentity(r.pid, proc);
  return now !== undefined && now.cmdline === r.cmdline && now.start === r.start;
}

export type SignalResult = 'signalled' | 'gone' | 'not-ours';

/**
 * Signals the recorded process only when its command line and start time still match;
 * `gone` when no process has that pid, `not-ours` when another process holds it now (or
 * the record is malformed): then nothing is signalled.
 */
export function signalRecorded(recorded: unknown, signal: NodeJS.Signals = 'SIGTERM', proc = '/proc'): SignalResult {
  const pid = (recorded as { pid?: unknown } | null)?.pid;
  if (!sameProcess(recorded, proc))
    return validPid(pid) && processIdentity(pid, proc) === undefined ? 'gone' : 'not-ours';
  try {
    process.kill(recorded.pid, signal);
    return 'signalled';
  } catch {
    return 'gone';
  }
}
