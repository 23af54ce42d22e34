import { defineStep, type InputSpecs } from '../../runtime/define';
import type { main as Main } from './main';
import { credentialCheck } from './plan';
import type { post as Post } from './post';
const post: typeof Post = async (ctx) => (require('./post') as typeof import('./post')).post(ctx);
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);

export const inputs = {
  url: {
    description: 'Vault address. Empty: the job variable `VAULT_ADDR`.',
    defaultDoc: '`$VAULT_ADDR`',
    regex: 'https?://\\S+',
    form: 'an http(s) URL like https://vault.example.com:8200',
  },
  'role-id': {
    description: 'AppRole role id. Empty: the job variable `VAULT_ROLE_ID`.',
    secret: true,
    check: credentialCheck,
    form: 'the AppRole role id (4 characters or more; Vault generates UUIDs)',
    defaultDoc: '`$VAULT_ROLE_ID`',
  },
  'secret-id': {
    description: 'AppRole secret id. Empty: the job variable `VAULT_SECRET_ID` (a role may need none).',
    secret: true,
    check: credentialCheck,
    form: 'the AppRole secret id (4 characters or more; Vault generates UUIDs)',
    defaultDoc: '`$VAULT_SECRET_ID`',
  },
  'auth-path': {
    description: 'Mount path of the AppRole auth method (`auth/<path>/login`).',
    default: 'approle',
    regex: '[A-Za-z0-9_./-]+',
    form: 'a mount path like approle or ci/approle',
  },
  namespace: {
    description:
      'Vault Enterprise namespace (sent as `X-Vault-Namespace`). Empty: the job variable `VAULT_NAMESPACE`, else none.',
    defaultDoc: '`$VAULT_NAMESPACE`',
  },
  prefix: {
    description:
      'Variables named `<prefix>NAME` whose value is `<mount>/<path>/<key>` export `NAME` with that secret (ignored when `secrets` is given).',
    default: 'V_',
    regex: '[A-Za-z_][A-Za-z0-9_]*',
    form: 'a variable-name prefix like V_',
  },
  'kv-version': {
    description:
      'KV engine version; `auto` asks Vault which mount holds each path and its version (one probe per mount).',
    default: 'auto',
    options: ['auto', '1', '2'],
  },
  export: {
    description:
      '`env`: each variable holds the secret; `file`: each variable holds the path of a 0600 file with the secret (removed after the job).',
    default: 'env',
    options: ['env', 'file'],
  },
  secrets: {
    type: 'list',
    lines: true,
    description:
      'Explicit secrets instead of the prefix convention, one per line (or `;`-separated): `<mount>/<path> <key> | NAME` (NAME defaults to the key in upper case).',
  },
  'retry-max-attempts': {
    type: 'number',
    description: 'Attempts per Vault request when it is sealed, unreachable, throttling or answers 5xx.',
    default: 5,
    check: (v) =>
      Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= 20
        ? undefined
        : 'must be a whole number from 1 to 20',
    form: 'a whole number from 1 to 20',
  },
  'export-token': {
    type: 'boolean',
    description:
      'Also export `VAULT_TOKEN` and `VAULT_ADDR` for later commands; the token is then revoked by the cleanup instead of at the end of the step.',
    default: false,
  },
} as const satisfies InputSpecs;

export default defineStep({
  name: 'vault-secrets',
  description: 'Read KV secrets from HashiCorp Vault with AppRole and export them, masked, to the job',
  inputs,
  outputs: {
    names: { description: 'Names of the exported variables, one per line.' },
  },
  exports: {
    '<NAME>': 'each secret (or its file path with export: file)',
    VAULT_TOKEN: 'with export-token',
    VAULT_ADDR: 'with export-token',
  },
  gitlab: { stage: 'deploy', sourceEnv: true, userScript: true },
  main,
  post,
});
