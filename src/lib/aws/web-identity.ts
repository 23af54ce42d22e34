// Where a web identity (OIDC) token comes from: GitHub's runner token endpoint (fetched
// fresh for each STS attempt), a GitLab id_tokens variable, an input, or a file opened
// without following symlinks.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Env } from '../util/env';
import { ShiplineError, errorMessage } from '../util/errors';
import { classifyStatus, isTransientNetworkError, type Verdict } from '../util/retry';
import { describeNetworkError } from './errors';
import { httpRequest, type HttpAnswer, type HttpClient } from './http';

/** A failure of GitHub's token endpoint: transient ones carry the retry reason and delay. */
function endpointError(
  message: string,
  verdict: Verdict,
  kind: 'denied' | 'invalid' | 'failed',
  hint: string,
): ShiplineError {
  return verdict.retry
    ? new ShiplineError(message, {
        kind: 'transient',
        hint,
        data: { reason: verdict.reason, ...(verdict.afterMs === undefined ? {} : { retryAfterMs: verdict.afterMs }) },
      })
    : new ShiplineError(message, { kind, hint });
}

export function githubOidcAvailable(env: Env): boolean {
  return Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
}

/**
 * Asks the runner for an id_token with `audience` (the protocol @actions/core speaks:
 * GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=…, bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN).
 * `onSecret` sees the token before anything else can.
 */
export async function fetchGithubToken(
  env: Env,
  audience: string,
  opts: { signal?: AbortSignal; onSecret: (v: string) => void; request?: HttpClient },
): Promise<string> {
  const base = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!base || !bearer) {
    throw new ShiplineError('GitHub OIDC is not available in this job (ACTIONS_ID_TOKEN_REQUEST_URL is not set)', {
      kind: 'auth',
      hint: 'give the workflow or job `permissions: id-token: write`, or pass credentials another way',
    });
  }
  opts.onSecret(bearer);
  const url = new URL(base);
  if (audience) url.searchParams.set('audience', audience);
  let res: HttpAnswer;
  try {
    res = await (opts.request ?? httpRequest)(url, {
      method: 'GET',
      headers: {
        authorization: `Bearer ${bearer}`,
        accept: 'application/json; api-version=2.0',
        'user-agent': 'shipline',
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    const verdict: Verdict = isTransientNetworkError(err)
      ? { retry: true, reason: `GitHub token endpoint: ${describeNetworkError(err)}` }
      : { retry: false };
    throw endpointError(
      `could not reach GitHub's OIDC token endpoint ${url.host}: ${errorMessage(err)}`,
      verdict,
      'failed',
      'the runner provides this endpoint; re-run the job if it persists',
    );
  }
  const text = res.body;
  if (res.status < 200 || res.status > 299) {
    const verdict = classifyStatus(res.status, res.headers['retry-after']);
    const denied = res.status === 401 || res.status === 403;
    throw endpointError(
      `GitHub's OIDC token endpoint answered HTTP ${res.status}`,
      verdict,
      denied ? 'denied' : 'failed',
      denied
        ? 'the job needs `permissions: id-token: write`'
        : 'the runner provides this endpoint; re-run the job if it persists',
    );
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value === '') {
    throw endpointError(
      "GitHub's OIDC token endpoint returned no token",
      { retry: false },
      'invalid',
      'the runner provides this endpoint; re-run the job if it persists',
    );
  }
  opts.onSecret(value);
  return value;
}

/** Reads a token file, refusing symlinks (O_NOFOLLOW) and anything but a regular file. */
export function readTokenFile(path: string, onSecret: (v: string) => void): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new ShiplineError(`web identity token file ${path} is a symbolic link`, {
        kind: 'invalid',
        data: { file: path },
        hint: 'pass the real file: links are refused so a token cannot be read from an unexpected place',
      });
    }
    if (code === 'ENOENT')
      throw new ShiplineError(`web identity token file ${path} does not exist`, {
        kind: 'not-found',
        data: { file: path },
      });
    throw new ShiplineError(`cannot open web identity token file ${path}: ${errorMessage(err)}`, {
      kind: 'failed',
      data: { file: path },
      hint: 'check the file and its permissions',
    });
  }
  try {
    if (!fstatSync(fd).isFile())
      throw new ShiplineError(`web identity token file ${path} is not a regular file`, {
        kind: 'invalid',
        data: { file: path },
        hint: 'pass a file that holds the token',
      });
    const token = readFileSync(fd, 'utf8').trim();
    if (!token)
      throw new ShiplineError(`web identity token file ${path} is empty`, {
        kind: 'invalid',
        data: { file: path },
        hint: 'check what writes the token',
      });
    onSecret(token);
    return token;
  } finally {
    closeSync(fd);
  }
}

/** The token a named variable holds (GitLab `id_tokens`). */
export function tokenFromVariable(env: Env, name: string, onSecret: (v: string) => void): string {
  const token = env[name]?.trim();
  if (!token) {
    throw new ShiplineError(`the variable ${name} is empty or not set`, {
      kind: 'not-found',
      data: { variable: name },
      hint: `on GitLab declare it in the job: id_tokens: { ${name}: { aud: sts.amazonaws.com } }`,
    });
  }
  onSecret(token);
  return token;
}
