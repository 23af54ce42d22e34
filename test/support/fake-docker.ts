// A fake docker CLI for unit tests: a shell script that records its argv (and
// DOCKER_BUILDKIT) and answers like docker would, with or without buildx.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DIGEST = `sha256:${'ab'.repeat(32)}`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

export function fakeDocker(opts: { buildx: boolean }): { bin: string; calls: () => string[][]; env: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-fake-docker-'));
  dirs.push(dir);
  const log = path.join(dir, 'argv.log');
  const envLog = path.join(dir, 'env.log');
  const bin = path.join(dir, 'docker');
  fs.writeFileSync(
    bin,
    `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
echo "DOCKER_BUILDKIT=\${DOCKER_BUILDKIT:-unset}" >> '${envLog}'
case "$1" in
  buildx) ${opts.buildx ? 'echo "github.com/docker/buildx v0.17.1"; exit 0' : 'echo "docker: unknown command: docker buildx" >&2; exit 1'} ;;
  push) echo "The push refers to repository [r/a]"; echo "5f70bf18a086: Pushed"; case "$2" in *nodigest*) ;; *) echo "x: digest: ${DIGEST} size: 942";; esac ;;
  image) [ "$2" = inspect ] && echo '["r/a@${DIGEST}","other/b@sha256:${'cd'.repeat(32)}"]' ;;
  rm) echo "Error response from daemon: No such container: $3" >&2; exit 1 ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n') : []);
  return { bin, calls: () => lines(log).map((l) => l.split(' ')), env: () => lines(envLog) };
}
