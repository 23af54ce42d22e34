// Writes to fd 1/2 synchronously instead of through process.stdout/stderr: creating those
// stream objects costs ~6 ms of start-up (a third of a fail-fast run), and synchronous
// writes need no flush before process.exit.
import { writeSync } from 'node:fs';

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
