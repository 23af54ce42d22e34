// Puts a key and its known_hosts in a private directory and says how git should use them.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../util/env';
import { ShiplineError } from '../util/errors';
import { exec } from '../util/exec';

export interface KeyDir {
  dir: string;
  keyFile: string;
  knownHostsFile: string;
}

export function writeKeyDir(parent: string, key: string, knownHosts: string): KeyDir {
  const dir = mkdtempSync(join(parent, 'shipline-ssh-'));
  chmodSync(dir, 0o700);
  const keyFile = join(dir, 'id_key');
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(keyFile, key, { mode: 0o600, flag: 'wx' });
  chmodSync(keyFile, 0o600);
  writeFileSync(knownHostsFile, knownHosts, { mode: 0o600, flag: 'wx' });
  return { dir, keyFile, knownHostsFile };
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** git runs GIT_SSH_COMMAND through a shell, so the paths are single-quoted. */
export function gitSshCommand(keyFile: string, knownHostsFile: string): string {
  return `ssh -i ${sq(keyFile)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${sq(knownHostsFile)} -o StrictHostKeyChecking=yes`;
}

export interface Agent {
  sock: string;
  pid: number;
}

/** ssh-agent on a socket inside the private dir, with the key added. */
export async function startAgent(dir: string, keyFile: string, env: Env): Promise<Agent> {
  const sock = join(dir, 'agent.sock');
  const r = await exec('ssh-agent', ['-s', '-a', sock], {
    what: 'ssh-agent',
    timeoutMs: 15_000,
    hint: 'install openssh-client in the job image',
  });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(r.stdout)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0)
    throw new ShiplineError('ssh-agent did not print its pid', { kind: 'invalid' });
  try {
    await exec('ssh-add', ['-q', keyFile], {
      env: { ...env, SSH_AUTH_SOCK: sock },
      what: 'ssh-add',
      timeoutMs: 15_000,
      input: '',
    });
  } catch (err) {
    stopAgent(pid);
    throw err;
  }
  return { sock, pid };
}

export function stopAgent(pid: number): boolean {
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}
