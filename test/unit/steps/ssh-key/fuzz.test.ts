// ssh-key's real bundle (dist/ssh-key/index.js, then its cleanup) under hundreds of hostile
// values per input and per key-line variable, each in turn with the others valid: every
// run exits 0 or 2 (no call is made: a malformed key or known-hosts line is exit 2 naming
// the input), the cleanup exits 0 (and stops any agent a run started), never the bug path,
// a stack trace or an unhandled rejection, and no line of the key in any output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import step from '../../../../src/steps/ssh-key/index';
import { assertProperty, fuzzSeed, rng, runFuzz, stepCases, summarize, type FuzzCase } from '../../../support/fuzz';

const seed = fuzzSeed('ssh-key');

function keyPair(type: string): { key: string; pub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-key-fuzz-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'fuzz', '-f', join(dir, 'k')]);
    return { key: readFileSync(join(dir, 'k'), 'utf8'), pub: readFileSync(join(dir, 'k.pub'), 'utf8').trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ssh-key fuzz (real bundle)', () => {
  test('every run exits 0 or 2 naming the input, the cleanup exits 0, no key line in the output', async () => {
    const ed = keyPair('ed25519');
    const rsa = keyPair('rsa');
    const lines = ed.key.trimEnd().split('\n');
    const body = lines.slice(1, -1);
    const [type, blob] = ed.pub.split(' ') as [string, string];
    const [rsaType, rsaBlob] = rsa.pub.split(' ') as [string, string];
    const keyEnv = Object.fromEntries(lines.map((l, i) => [`SSH_KEY_LINE_${i + 1}`, l]));
    const knownHosts = `gitlab.example.com ${type} ${blob}`;
    const r = rng(seed);
    const fuzz = {
      'key-variables': {
        valid: ['SSH_KEY_LINE_', 'SSH_KEY_LINE_*', lines.map((_, i) => `SSH_KEY_LINE_${i + 1}`).join('\n')],
        also: ['SSH_KEY_LINE_1', 'NOPE_', 'PATH', 'HOME', 'SSH_KEY_LINE_1 SSH_KEY_LINE_1'],
        list: true,
      },
      'key-base64': {
        valid: [Buffer.from(ed.key).toString('base64'), Buffer.from(rsa.key).toString('base64')],
        also: [Buffer.from(ed.pub).toString('base64'), Buffer.from('-----BEGIN PRIVATE KEY-----\n').toString('base64')],
      },
      'known-hosts': {
        valid: [
          knownHosts,
          `${type} ${blob}`,
          `[gitlab.example.com]:2222,gitlab.example.com ${type} ${blob}`,
          `@cert-authority *.example.com ${type} ${blob}`,
          `|1|abc=|def= ${rsaType} ${rsaBlob}`,
          '@@WS@@/known_hosts',
        ],
        also: ['/etc/passwd', '/', '/dev/null', '/proc/self/environ', '/nonexistent/known_hosts', '@@WS@@'],
        list: true,
      },
      host: { valid: ['gitlab.example.com', 'gitlab.example.com:22', 'gitlab.example.com:2222', '[::1]:2222'] },
      'start-agent': { valid: ['false', 'true'], count: 80 },
      // one line of the key in its variable, and the armour lines
      'env:SSH_KEY_LINE_1': { valid: [lines[0]!], count: 100 },
      'env:SSH_KEY_LINE_2': { valid: [lines[1]!], count: 100 },
      [`env:SSH_KEY_LINE_${lines.length}`]: { valid: [lines[lines.length - 1]!], count: 100 },
    };
    const cases = stepCases(
      {
        base: { 'key-variables': 'SSH_KEY_LINE_', 'known-hosts': knownHosts, host: 'gitlab.example.com' },
        env: keyEnv,
        files: { known_hosts: `${knownHosts}\n` },
        secrets: body,
        post: true,
        fuzz,
        perInput: 200,
        mixed: 200,
        adjust: (c: FuzzCase) => {
          // key-base64 instead of the variables (both at once is its own error, tried in mixed cases)
          if (c.label.startsWith('key-base64=')) delete c.inputs['key-variables'];
          // a fuzzed key line of 12+ characters is key material: it must not be shown either
          for (const [k, v] of Object.entries(c.env ?? {}))
            if (k.startsWith('SSH_KEY_LINE_') && v.trim().length >= 12 && !v.startsWith('-----'))
              c.secrets = [...(c.secrets ?? []), v];
          return c;
        },
      },
      r,
    );
    const agents = () =>
      execFileSync('sh', ['-c', 'ps -eo pid,args | grep "[s]sh-agent -s -a .*shipline-fuzz-ssh-key" || true'], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean);
    const before = agents();
    const t0 = Date.now();
    const results = await runFuzz(cases, { step, seed });
    console.log(`ssh-key fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
    assertProperty(results, { failures: [], names: [/\bSSH_KEY_LINE_\w*/] }, { step, seed });
    // The agent runs ended with their cleanup: no ssh-agent these cases started is left.
    const left = agents().filter((a) => !before.includes(a));
    expect(left).toEqual([]);
  }, 240_000);
});
