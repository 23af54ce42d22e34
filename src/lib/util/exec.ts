// Running a tool (docker, buildah, skopeo, git, ssh-keygen): argv only (no shell), secrets
// through stdin or env by name, output streamed line by line through redaction, a
// timeout, and an error that names the command and its exit code.
import { ShiplineError } from './errors';
import type { Env } from './env';
import { redact } from './redact';

export interface ExecOptions {
  cwd?: string;
  /** Full environment for the child (default: the parent's). */
  env?: Env;
  /** Written to stdin, then closed (e.g. `docker login --password-stdin`). */
  input?: string | Buffer;
  /** Called per output line (already redacted), e.g. to stream into a log group. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Keep stdout (default true) / stderr (default true) in the result. */
  capture?: boolean;
  timeoutMs?: number;
  /** Don't throw on a non-zero exit; return it. */
  allowFailure?: boolean;
  /** A short description for errors, e.g. 'docker push'. */
  what?: string;
  hint?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  // Required lazily: child_process costs ~5 ms of start-up, and paths that fail early never spawn.
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: (opts.env ?? process.env) as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const capture = opts.capture !== false;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const partial = { stdout: '', stderr: '' };
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }, opts.timeoutMs)
      : undefined;
    const feed = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      (stream === 'stdout' ? out : err).push(chunk);
      if (!opts.onLine) return;
      const text = partial[stream] + chunk.toString('utf8');
      const lines = text.split(/\r?\n|\r/);
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) opts.onLine(redact(l), stream);
    };
    child.stdout.on('data', (c: Buffer) => feed('stdout', c));
    child.stderr.on('data', (c: Buffer) => feed('stderr', c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const missing = e.code === 'ENOENT';
      reject(
        new ShiplineError(missing ? `'${cmd}' was not found on PATH` : `could not start '${cmd}': ${e.message}`, {
          hint: missing ? `install ${cmd} in the job image or runner` : (opts.hint ?? ''),
          cause: e,
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      for (const s of ['stdout', 'stderr'] as const) if (partial[s] && opts.onLine) opts.onLine(redact(partial[s]), s);
      const result: ExecResult = {
        code: code ?? (signal ? 128 + 15 : 1),
        stdout: capture ? Buffer.concat(out).toString('utf8') : '',
        stderr: capture ? Buffer.concat(err).toString('utf8') : '',
      };
      if (timedOut) {
        reject(
          new ShiplineError(
            `${opts.what ?? cmd} timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s`,
            opts.hint ? { hint: opts.hint } : {},
          ),
        );
      } else if (result.code !== 0 && !opts.allowFailure) {
        const tail = redact(result.stderr.trim().split('\n').slice(-5).join('\n'));
        reject(
          new ShiplineError(
            `${opts.what ?? `${cmd} ${args[0] ?? ''}`.trim()} failed with exit code ${result.code}${tail ? `:\n${tail}` : ''}`,
            {
              exitCode: 1,
              ...(opts.hint ? { hint: opts.hint } : {}),
            },
          ),
        );
      } else resolve(result);
    });
    child.stdin.on('error', () => {
      // the child may exit before reading stdin; its exit code tells the story
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
