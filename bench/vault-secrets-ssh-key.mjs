// Start-up and happy-path cost of vault-secrets and ssh-key against bare node, in the same
// run (DESIGN §7: fail-fast <= 1.3x `node -e ''`, happy path <= 2x excluding the remote
// calls). Under `env -i` (TESTBED.md). The vault happy path includes its 5 loopback Vault
// requests (login, probe, read, revoke…), so it needs the bench: eval "$(bash scripts/testbed env)".
// Usage: node bench/vault-secrets-ssh-key.mjs [runs=30] [node binary]
import { spawnSync } from 'node:child_process';
import { compareCases } from './lib/measure.mjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 30);
const node = process.argv[3] ?? process.execPath;
const work = mkdtempSync(join(tmpdir(), 'shipline-bench-vs-'));
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
const gitlab = { ...baseEnv, GITLAB_CI: 'true', CI_PROJECT_DIR: work, RUNNER_TEMP: work };

spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'id'), '-C', 'bench']);
const keyLines = Object.fromEntries(
  readFileSync(join(work, 'id'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l, i) => [`SSH_KEY_LINE_${i + 1}`, l]),
);
const hostKey = 'git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const ssh = join(root, 'dist/ssh-key/index.js');
const vault = join(root, 'dist/vault-secrets/index.js');

const cases = [
  { name: "node -e ''", args: ['-e', ''], env: baseEnv, code: 0 },
  {
    name: 'reference: image-tags fail-fast (--latest maybe)',
    args: [join(root, 'dist/image-tags/index.js'), '--latest', 'maybe'],
    env: baseEnv,
    code: 2,
  },
  { name: 'vault-secrets fail-fast (--kv-version 3)', args: [vault, '--kv-version', '3'], env: baseEnv, code: 2 },
  { name: 'ssh-key fail-fast (--start-agent maybe)', args: [ssh, '--start-agent', 'maybe'], env: baseEnv, code: 2 },
  {
    name: 'ssh-key happy path (7 line variables) + post',
    args: [ssh, '--key-variables', 'SSH_KEY_LINE_', '--known-hosts', hostKey],
    env: { ...gitlab, ...keyLines },
    code: 0,
    after: { args: [ssh, '--post'], env: gitlab },
  },
];
if (process.env.TB_VAULT_URL) {
  // What node's fetch itself costs (undici loads on first use), to read the step's row against.
  cases.push({
    name: 'reference: node + one fetch (Vault health)',
    args: [
      '-e',
      `fetch(${JSON.stringify(`${process.env.TB_VAULT_URL}/v1/sys/health`)}).then((r) => r.text()).then(() => process.exit(0))`,
    ],
    env: baseEnv,
    code: 0,
  });
  cases.push({
    name: 'vault-secrets happy path (bench Vault, 2 keys/1 path)',
    args: [vault],
    env: {
      ...gitlab,
      VAULT_ADDR: process.env.TB_VAULT_URL,
      VAULT_ROLE_ID: process.env.TB_VAULT_ROLE_ID,
      VAULT_SECRET_ID: process.env.TB_VAULT_SECRET_ID,
      V_DB_PASSWORD: 'secret/fake-app/db/password',
      V_DB_HOST: 'secret/fake-app/db/host',
    },
    code: 0,
  });
} else console.log('(no TB_VAULT_URL: vault happy path skipped; eval "$(bash scripts/testbed env)" first)');

compareCases(cases, { runs, node, note: ' (main only; post untimed)' });
rmSync(work, { recursive: true, force: true });
