import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { defineStep } from '../../runtime/define';
import { ShiplineError } from '../../lib/util/errors';
import { checkArmour, expandKeyVariables, keyText, linesFromBase64, linesFromVariables, type KeyLine } from '../../lib/ssh/key';
import { buildKnownHosts, hostPattern } from '../../lib/ssh/known-hosts';
import { gitSshCommand, startAgent, stopAgent, writeKeyDir } from '../../lib/ssh/setup';

export default defineStep({
  name: 'ssh-key',
  description: 'Reassemble an SSH private key from masked CI variables (one per line, or base64) for git over SSH',
  inputs: {
    'key-variables': {
      type: 'list',
      description: 'Names of the variables holding the key, one line each, in order; or one prefix ending in `_` (e.g. `SSH_KEY_LINE_`) for `<prefix>1` … `<prefix>N` in numeric order.',
      regex: '[A-Za-z_][A-Za-z0-9_]*\\*?',
      form: 'variable names, or a prefix like SSH_KEY_LINE_',
    },
    'key-base64': { description: 'The key file base64-encoded, as a value (GitLab: `$SSH_PRIVATE_KEY_B64`, expanded by the job; GitHub: a secret). Instead of key-variables.', secret: true },
    'known-hosts': {
      type: 'list',
      lines: true,
      required: true,
      description: 'known_hosts lines for the servers (`<host> <type> <key>`; bare `<type> <key>` lines take the `host` input), or the path of a file holding them (a GitLab file variable). No keyscan: host keys are always given.',
    },
    host: { description: 'Server (`host` or `host:port`) for bare `<type> <key>` known-hosts lines; when set, some line must be for it.' },
    'start-agent': { type: 'boolean', default: false, description: 'Also start ssh-agent with the key (exports SSH_AUTH_SOCK, SSH_AGENT_PID); stopped by the cleanup.' },
  },
  outputs: {
    'key-file': { description: 'Path of the key file (0600, in a 0700 temp dir removed by the cleanup).' },
    'known-hosts-file': { description: 'Path of the known_hosts file.' },
    'ssh-command': { description: 'The ssh command line exported as GIT_SSH_COMMAND.' },
    fingerprint: { description: 'SHA256 fingerprint of the key, as `ssh-keygen -l` prints it.' },
  },
  exports: { GIT_SSH_COMMAND: 'ssh with the key, IdentitiesOnly and the known_hosts file', SSH_AUTH_SOCK: 'with start-agent', SSH_AGENT_PID: 'with start-agent' },
  gitlab: { stage: 'build', sourceEnv: true, userScript: true },
  async main(ctx) {
    const { inputs } = ctx;
    const given = (inputs.keyVariables.length ? 1 : 0) + (inputs.keyBase64?.trim() ? 1 : 0);
    if (given !== 1) {
      throw new ShiplineError(given ? 'give either key-variables or key-base64, not both' : 'no key: give key-variables or key-base64', {
        hint: 'key-variables: SSH_KEY_LINE_ (variables SSH_KEY_LINE_1 … N), or key-base64: $SSH_PRIVATE_KEY_B64',
        exitCode: 2,
      });
    }
    let lines: KeyLine[];
    if (inputs.keyBase64?.trim()) lines = linesFromBase64(inputs.keyBase64);
    else {
      const names = expandKeyVariables(ctx.env, inputs.keyVariables);
      lines = linesFromVariables(ctx.env, names);
      ctx.log.info(`key from ${names.length} variable(s): ${names.length > 3 ? `${names[0]} … ${names[names.length - 1]}` : names.join(', ')}`);
    }
    const info = checkArmour(lines);
    // Mask the body lines (the armour lines are public) before anything else can print.
    for (const l of info.body) ctx.secret(l);

    let khLines = inputs.knownHosts;
    if (khLines.length === 1 && isAbsolute(khLines[0]!) && existsSync(khLines[0]!)) khLines = readFileSync(khLines[0]!, 'utf8').split(/\r?\n/);
    const knownHosts = buildKnownHosts(khLines, inputs.host?.trim() || undefined);

    const files = writeKeyDir(ctx.tempDir, keyText(lines), knownHosts);
    ctx.saveState('dir', files.dir);
    const command = gitSshCommand(files.keyFile, files.knownHostsFile);
    ctx.exportVariable('GIT_SSH_COMMAND', command);
    if (inputs.startAgent) {
      const agent = await startAgent(files.dir, files.keyFile, ctx.env);
      ctx.saveState('agent-pid', String(agent.pid));
      ctx.exportVariable('SSH_AUTH_SOCK', agent.sock);
      ctx.exportVariable('SSH_AGENT_PID', String(agent.pid));
      ctx.log.info(`ssh-agent ${agent.pid} holds the key`);
    }
    ctx.log.info(`key ${info.type ?? info.label}${info.fingerprint ? ` ${info.fingerprint}` : ''} written to ${files.keyFile}; known_hosts for ${inputs.host ? hostPattern(inputs.host) : 'the given hosts'}`);
    ctx.setOutput('key-file', files.keyFile);
    ctx.setOutput('known-hosts-file', files.knownHostsFile);
    ctx.setOutput('ssh-command', command);
    ctx.setOutput('fingerprint', info.fingerprint ?? '');
  },
  async post(ctx) {
    const pid = Number(ctx.getState('agent-pid'));
    if (Number.isInteger(pid) && pid > 0 && stopAgent(pid)) ctx.log.info(`stopped ssh-agent ${pid}`);
    const dir = ctx.getState('dir');
    if (dir && /shipline-ssh-[^/]+$/.test(dir)) {
      rmSync(dir, { recursive: true, force: true });
      ctx.log.info(`removed ${dir}`);
    }
  },
});
