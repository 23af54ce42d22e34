// Runs the kaniko-build step in-process through the real runner (CLI platform unless the env
// says GitLab), capturing stdout/stderr, and a temp workspace with a multi-stage Dockerfile.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import step from '../../src/steps/kaniko-build/index';
import { runStep } from '../../src/runtime/run';

export interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

/** `name=value` and `name<<EOF … EOF` lines printed on stdout by the CLI/GitLab runtime. */
export function parsePrintedOutputs(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const hd = /^([a-z][a-z0-9-]*)<<(\S+)$/.exec(l);
    if (hd) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== hd[2]; i++) body.push(lines[i]!);
      out[hd[1]!] = body.join('\n');
      continue;
    }
    const m = /^([a-z][a-z0-9-]*)=(.*)$/.exec(l);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export async function runKanikoBuild(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
  post = false,
): Promise<StepRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runStep(step, {
    argv: post ? [...argv, '--post'] : argv,
    env,
    viaCli: true,
    cwd,
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
  });
  const stdout = out.join('');
  return { code, stdout, stderr: err.join(''), outputs: parsePrintedOutputs(stdout) };
}

/**
 * A workspace with a three-stage Dockerfile FROM `base` (build, smoke-test, final). The build
 * stage declares `ARG GREETING_SUFFIX` unless `buildArg: false`: buildah 1.28 never restores
 * an ARG step from a remote cache (--cache-from), which breaks the cache of every later step
 * of that stage (containers/buildah#4315), so a cache test builds without one.
 */
export function makeWorkspace(
  base: string,
  opts: { smokeFails?: boolean; parent?: string; buildArg?: boolean } = {},
): string {
  const arg = opts.buildArg !== false;
  const dir = fs.mkdtempSync(path.join(opts.parent ?? os.tmpdir(), 'shipline-kb-ws-'));
  fs.writeFileSync(path.join(dir, 'greeting.txt'), 'hello from kaniko-build\n');
  fs.writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      `FROM ${base} AS build`,
      ...(arg ? ['ARG GREETING_SUFFIX=none'] : []),
      'COPY greeting.txt /src/greeting.txt',
      arg
        ? 'RUN cat /src/greeting.txt > /src/out.txt && echo "suffix=$GREETING_SUFFIX" >> /src/out.txt'
        : 'RUN cat /src/greeting.txt > /src/out.txt',
      '',
      `FROM ${base} AS smoke-test`,
      'COPY --from=build /src/out.txt /out.txt',
      opts.smokeFails ? 'RUN echo smoke failing && exit 1' : 'RUN grep -q hello /out.txt',
      '',
      `FROM ${base} AS final`,
      'COPY --from=build /src/out.txt /out.txt',
      'CMD ["cat", "/out.txt"]',
      '',
    ].join('\n'),
  );
  return dir;
}

/** The base64 docker config JSON a seed-004 style variable holds. */
export function dockerConfigB64(registry: string, user: string, password: string): string {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  return Buffer.from(JSON.stringify({ auths: { [registry]: { auth } } })).toString('base64');
}

/** Temp dirs named shipline-kaniko-build-* (the step's work dirs) under `dir`. */
export function stepWorkDirs(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('shipline-kaniko-build-')) : [];
}

/**
 * A containers-storage of the test's own (vfs), so buildah runs never see or touch the
 * images of other tests on the shared machine: pass `env` to the step.
 */
export function privateStorage(parent: string): { dir: string; env: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(parent, 'storage-'));
  const conf = path.join(dir, 'storage.conf');
  fs.writeFileSync(conf, `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/graph"\nrunroot = "${dir}/run"\n`);
  return { dir, env: { CONTAINERS_STORAGE_CONF: conf, STORAGE_DRIVER: 'vfs' } };
}
