// Writes to fd 1/2 synchronously instead of through process.stdout/stderr: creating those
// stream objects costs ~6 ms of start-up (a third of a fail-fast run), and synchronous
// writes need no flush before process.exit.
import { fstatSync, writeSync } from 'node:fs';

function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, 'utf8');
  for (let tries = 0; buf.length > 0;) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (err) {
      // A non-blocking pipe that is full: fall back to the stream, which queues.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && tries++ < 1) {
        (fd === 1 ? process.stdout : process.stderr).write(buf);
        return;
      }
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw err;
    }
  }
}

export const writeOut = (s: string): void => writeAll(1, s);
export const writeErr = (s: string): void => writeAll(2, s);

/**
 * `isatty(fd)` without node:tty on the common path: loading node:tty loads node:net and the
 * stream modules (~3 ms of every start, a tenth of bare node). Only a character device can be
 * a terminal, so a pipe or a file (every CI log) is answered from one fstat; a character
 * device (a terminal, or /dev/null) is asked of node:tty.
 */
export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false; // closed or invalid: not a terminal
  }
  return (require('node:tty') as typeof import('node:tty')).isatty(fd);
}
