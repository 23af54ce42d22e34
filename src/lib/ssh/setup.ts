// Puts a key and its known_hosts in a private directory and says how git should use them.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../util/env';
import { ShiplineError } from '../util/errors';
import { exec } from '../util/exec';
import { processIdentity, signalRecorded, type ProcessIdentity, type SignalResult } from '../util/process';

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
  /** The agent's pid, command line and start time: cleanup signals only this process. */
  identity: ProcessIdentity;
}

/**
 * ssh-agent on a socket inside the private dir, with the key added. `onStarted` gets the
 * agent's identity as soon as it runs (before the key is added), so a kill in between
 * still leaves a record the cleanup can act on.
 */
export async function startAgent(
  dir: string,
  keyFile: string,
  env: Env,
  onStarted?: (identity: ProcessIdentity) => void,
): Promise<Agent> {
  const sock = join(dir, 'agent.sock');
  const r = await exec('ssh-agent', ['-s', '-a', sock], {
    what: 'ssh-agent',
    timeoutMs: 15_000,
    hint: 'install openssh-client in the job image',
  });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(r.stdout)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0)
    throw new ShiplineError('ssh-agent did not print its pid', { kind: 'invalid' });
  const identity = processIdentity(pid);
  if (!identity || !identity.cmdline.includes(sock))
    throw new ShiplineError(`ssh-agent ${pid} is not running on ${sock}`, { kind: 'failed', data: { pid } });
  onStarted?.(identity);
  try {
    await exec('ssh-add', ['-q', '--', keyFile], {
      env: { ...env, SSH_AUTH_SOCK: sock },
      what: 'ssh-add',
      timeoutMs: 15_000,
      input: '',
    });
  } catch (err) {
    stopAgent(identity);
    throw err;
  }
  return { sock, pid, identity };
}

/**
 * Stops the agent a record names, only when that pid still runs the same command line
 * started at the same time (a pid from a state file another process wrote, or a reused
 * pid, is never signalled). Returns what happened.
 */
export function stopAgent(recorded: unknown): SignalResult {
  return signalRecorded(recorded, 'SIGTERM');
}
