// Two steps in one GitLab job (the ssh-key template, then image-tags from its `script`):
// the dotenv report carries both steps' outputs, named for the job (`<JOB>_<OUTPUT>`, and
// `<JOB>_<STEP>_<OUTPUT>` for the step its script ran), list values with spaces included,
// and a later job gets every one of them exactly as the steps printed them — but not the
// paths of this job's private directory (key-file, ssh-command), which mean nothing there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runOk } from '../support/exec';
import { componentInclude, runGitlabCiLocal } from '../support/gitlab';

jest.setTimeout(180_000);

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const IMAGE = 'registry.example.com/team/app';

test('both steps’ outputs reach the next job byte-exact', async () => {
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-two-steps-'));
  const file = path.join(keyDir, 'id_ed25519');
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'two steps', '-f', file]);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const keyLines = Object.fromEntries(lines.map((l, i) => [`SSH_KEY_LINE_${i + 1}`, l]));
  // The later job prints each variable between markers, so spaces at either end would show.
  const show = (names: string[]) => names.map((n) => `printf 'got %s=[%s]\\n' ${n} "$${n}"`);
  const names = [
    'SSH_KEY_FINGERPRINT',
    'SSH_KEY_SSH_COMMAND',
    'SSH_KEY_KEY_FILE',
    'SSH_KEY_IMAGE_TAGS_TAGS',
    'SSH_KEY_IMAGE_TAGS_TAG_NAMES',
  ];
  const r = await runGitlabCiLocal({
    ciYml: {
      stages: ['build', 'test'],
      include: [
        componentInclude('ssh-key', {
          'key-variables': 'SSH_KEY_LINE_',
          'known-hosts': HOST_KEY,
          host: 'git.example.com',
          script: [
            `node "$SHIPLINE_HOME/dist/image-tags/index.js" --images ${IMAGE} --tags 'type=raw,value=one' --tags 'type=raw,value=two'`,
          ],
        }),
      ],
      later: { stage: 'test', needs: ['ssh-key'], script: show(names) },
    },
    pipeline: 'default-branch',
    fileVariables: keyLines,
  });
  try {
    expect(`exit ${r.exitCode}\n${r.stdout.split('\n').slice(-30).join('\n')}`).toMatch(/^exit 0/);
    const first = r.jobLog('ssh-key');
    // What the steps printed as outputs (`name=value` lines on stdout).
    const printed = (name: string) => new RegExp(`^(?:.*> )?${name}=(.*)$`, 'm').exec(first)?.[1];
    expect(printed('ssh-command')).toContain('/tmp/shipline-'); // printed in the job …
    expect(printed('key-file')).toContain('/tmp/shipline-');
    const expected: Record<string, string | undefined> = {
      SSH_KEY_FINGERPRINT: printed('fingerprint'),
      SSH_KEY_SSH_COMMAND: '', // … never handed to a later job
      SSH_KEY_KEY_FILE: '',
      SSH_KEY_IMAGE_TAGS_TAGS: `${IMAGE}:one ${IMAGE}:two`, // a value with spaces
      SSH_KEY_IMAGE_TAGS_TAG_NAMES: 'one two',
    };
    for (const v of Object.values(expected)) expect(v).toBeDefined();
    const later = r.jobLog('later');
    for (const n of names) expect(later).toContain(`got ${n}=[${expected[n]}]`);
  } finally {
    r.cleanup();
    fs.rmSync(keyDir, { recursive: true, force: true });
  }
});
