// Running the retag bundle as a CLI process against the bench, and looking at the result
// with skopeo (an independent client).
import crypto from 'node:crypto';
import path from 'node:path';
import { repoRoot, run, runOk, withEnv, type RunResult } from './exec';

export const RETAG_BUNDLE = path.join(repoRoot, 'dist/retag/index.js');

export function parseOutputs(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([a-z-]+)(?:=(.*)|<<SHIPLINE_EOF\n([\s\S]*?)\nSHIPLINE_EOF)$/gm;
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

/** The bundle through the CLI runtime (no GitHub/GitLab variables), with this docker config. */
export async function retagCli(
  args: string[],
  dockerConfigDir: string,
  extraEnv: Record<string, string | undefined> = {},
): Promise<RunResult & { outputs: Record<string, string> }> {
  const env = withEnv({
    DOCKER_CONFIG: dockerConfigDir,
    GITHUB_ACTIONS: undefined,
    GITLAB_CI: undefined,
    SHIPLINE_OUTPUT_FILE: path.join(dockerConfigDir, 'outputs.env'),
    SHIPLINE_ENV_FILE: path.join(dockerConfigDir, 'env'),
    ...extraEnv,
  });
  const r = await run(process.execPath, [RETAG_BUNDLE, ...args], { env, cwd: dockerConfigDir, timeoutMs: 120_000 });
  return { ...r, outputs: parseOutputs(r.stdout) };
}

/** What skopeo sees at a reference: the raw manifest, its digest and media type. */
export async function skopeoInspect(
  ref: string,
  authfile?: string,
): Promise<{ digest: string; mediaType: string; raw: string }> {
  const args = [
    'inspect',
    '--raw',
    '--tls-verify=false',
    ...(authfile ? ['--authfile', authfile] : []),
    `docker://${ref}`,
  ];
  const r = await runOk('skopeo', args, { timeoutMs: 60_000 });
  const raw = r.stdout;
  // skopeo prints the manifest bytes unchanged, so their hash is the digest.
  const digest = `sha256:${crypto.createHash('sha256').update(Buffer.from(raw)).digest('hex')}`;
  return { digest, mediaType: String((JSON.parse(raw) as { mediaType?: string }).mediaType), raw };
}

/** skopeo's own digest report (`inspect --format {{.Digest}}` of the raw manifest). */
export async function skopeoDigest(ref: string, authfile?: string): Promise<string> {
  const args = [
    'inspect',
    '--tls-verify=false',
    '--no-tags',
    '--format',
    '{{.Digest}}',
    ...(authfile ? ['--authfile', authfile] : []),
    `docker://${ref}`,
  ];
  const r = await runOk('skopeo', args, { timeoutMs: 60_000 });
  return r.stdout.trim();
}
