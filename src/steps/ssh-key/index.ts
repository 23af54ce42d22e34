import { defineStep, type InputSpecs } from '../../runtime/define';
import type { main as Main } from './main';
import type { post as Post } from './post';

// main.ts, post.ts and what only they need (node:crypto for the key checks) load when they
// run, after the inputs validate: a bad input fails without them.
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);
const post: typeof Post = async (ctx) => (require('./post') as typeof import('./post')).post(ctx);

export const inputs = {
  'key-variables': {
    type: 'list',
    description:
      'Names of the variables holding the key, one line each, in order; or one prefix ending in `_` (e.g. `SSH_KEY_LINE_`) for `<prefix>1` … `<prefix>N` in numeric order.',
    regex: '[A-Za-z_][A-Za-z0-9_]*\\*?',
    form: 'variable names, or a prefix like SSH_KEY_LINE_',
  },
  'key-base64': {
    description:
      'The key file base64-encoded, as a value (GitLab: `$SSH_PRIVATE_KEY_B64`, expanded by the job; GitHub: a secret). Instead of key-variables.',
    secret: true,
  },
  'known-hosts': {
    type: 'list',
    lines: true,
    required: true,
    description:
      'known_hosts lines for the servers (`<host> <type> <key>`; bare `<type> <key>` lines take the `host` input), or the path of a file holding them (a GitLab file variable). No keyscan: host keys are always given.',
  },
  host: {
    description:
      'Server (`host` or `host:port`) for bare `<type> <key>` known-hosts lines; when set, some line must be for it.',
  },
  'start-agent': {
    type: 'boolean',
    default: false,
    description: 'Also start ssh-agent with the key (exports SSH_AUTH_SOCK, SSH_AGENT_PID); stopped by the cleanup.',
  },
} as const satisfies InputSpecs;

export default defineStep({
  name: 'ssh-key',
  description: 'Reassemble an SSH private key from masked CI variables (one per line, or base64) for git over SSH',
  inputs,
  outputs: {
    'key-file': { description: 'Path of the key file (0600, in a 0700 temp dir removed by the cleanup).', local: true },
    'known-hosts-file': { description: 'Path of the known_hosts file.', local: true },
    'ssh-command': { description: 'The ssh command line exported as GIT_SSH_COMMAND.', local: true },
    fingerprint: { description: 'SHA256 fingerprint of the key, as `ssh-keygen -l` prints it.' },
  },
  exports: {
    GIT_SSH_COMMAND: 'ssh with the key, IdentitiesOnly and the known_hosts file',
    SSH_AUTH_SOCK: 'with start-agent',
    SSH_AGENT_PID: 'with start-agent',
  },
  gitlab: { stage: 'build', sourceEnv: true, userScript: true },
  main,
  post,
});
