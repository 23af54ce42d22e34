import { defineStep, type InputSpecs, type InputValues } from '../../runtime/define';
import { ACCOUNT_ID_RE, ROLE_ARN_FORM, ROLE_ARN_RE } from '../../lib/aws/arn';
import { REGION_RE } from '../../lib/aws/client';
import type { main as Main } from './main';
import type { post as Post } from './post';
import { retryInputs, wholeNumber } from '../shared/aws';
import { tagKey, tagLine } from './plan';
const post: typeof Post = async (ctx) => (require('./post') as typeof import('./post')).post(ctx);
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);

const retry = retryInputs('STS', ['action-timeout-s']);

/**
 * `check` of the static keys (the value is never shown): they travel in request headers, so
 * anything but printable ASCII would fail inside the SDK as a header error; white space
 * around them (a pasted newline) is dropped.
 */
const keyText = (v: string) =>
  /^[\x21-\x7e]+$/.test(v.trim()) ? undefined : 'holds spaces, line breaks, control or non-ASCII characters';
const KEY_FORM = 'the key exactly as AWS gave it (printable ASCII, no spaces or line breaks)';

export const inputs = {
  'role-arn': {
    aliases: ['role-to-assume'],
    description: 'ARN of the role to assume.',
    required: true,
    regex: ROLE_ARN_RE,
    form: ROLE_ARN_FORM,
  },
  region: {
    aliases: ['aws-region'],
    description: 'AWS region for STS (and exported as AWS_REGION / AWS_DEFAULT_REGION).',
    regex: REGION_RE,
    form: 'a region like eu-west-1',
    defaultDoc: '`AWS_REGION`, then `AWS_DEFAULT_REGION`',
  },
  'session-name': {
    aliases: ['role-session-name'],
    description: 'Role session name (shown in CloudTrail); characters STS refuses become `-`, cut to 64.',
    defaultDoc: '`shipline-<ci>-<run/job id>`',
  },
  'duration-seconds': {
    aliases: ['role-duration-seconds'],
    type: 'number',
    description: "Session length in seconds (900 to 43200, at most the role's MaxSessionDuration; 3600 when chaining).",
    default: 3600,
    check: wholeNumber(900, 43200),
    form: 'a whole number of seconds from 900 to 43200',
  },
  'external-id': {
    aliases: ['role-external-id'],
    description: "External ID the role's trust policy requires (AssumeRole only).",
  },
  'session-tags': {
    type: 'list',
    description: 'Session tags, `key=value` per line (AssumeRole only; OIDC sessions take tags from the token).',
    check: tagLine,
    form: 'key=value lines, keys of letters, digits, spaces or _.:/+-@ (at most 128)',
  },
  'transitive-tag-keys': {
    type: 'list',
    description: 'Tag keys that carry over to chained sessions.',
    check: tagKey,
    form: 'tag keys of letters, digits, spaces or _.:/+-@= (at most 128)',
  },
  'skip-session-tags': {
    aliases: ['role-skip-session-tagging'],
    type: 'boolean',
    description:
      'Do not add the default CI tags (CI, Repository, Ref, Commit, Actor, Job) to AssumeRole; needed when the trust policy does not allow sts:TagSession.',
  },
  'web-identity-token': { description: 'An OIDC token to exchange (e.g. a GitLab id_token).', secret: true },
  'web-identity-token-file': {
    description: 'File holding an OIDC token; opened without following symlinks and re-read for every attempt.',
  },
  'web-identity-token-variable': {
    description: 'Name of the variable holding an OIDC token, e.g. the GitLab `id_tokens` entry `AWS_ID_TOKEN`.',
    regex: '[A-Za-z_][A-Za-z0-9_]*',
    form: 'a variable name like AWS_ID_TOKEN',
  },
  audience: {
    description: 'Audience of the GitHub OIDC token (the client ID on the IAM OIDC provider).',
    default: 'sts.amazonaws.com',
  },
  'role-chaining': {
    type: 'boolean',
    description:
      'Assume the role with the credentials already in the job (e.g. from an earlier assume-role); default CI tags are then skipped.',
  },
  'aws-access-key-id': {
    description: 'Static access key ID to assume the role with.',
    secret: true,
    check: keyText,
    form: KEY_FORM,
  },
  'aws-secret-access-key': { description: 'Static secret access key.', secret: true, check: keyText, form: KEY_FORM },
  'aws-session-token': {
    description: 'Session token for temporary static keys.',
    secret: true,
    check: keyText,
    form: KEY_FORM,
  },
  'allowed-account-ids': {
    type: 'list',
    description: 'Fail unless the role is in one of these account IDs (checked before and after the call).',
    regex: ACCOUNT_ID_RE,
    form: 'a 12-digit account ID',
  },
  export: {
    description:
      '`env`: export AWS_* credentials to the job (GitHub: masked, GITHUB_ENV; GitLab/CLI: only the 0600 env file); `file`: write a 0600 shared credentials file and export its path with AWS_PROFILE; `none`: outputs only.',
    default: 'env',
    options: ['env', 'file', 'none'],
  },
  'export-token-file': {
    type: 'boolean',
    description:
      'Long jobs (web identity only): write the token to a 0600 file and export AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN instead of keys, so SDKs refresh credentials themselves.',
  },
  'output-credentials': {
    type: 'boolean',
    description: 'Also set the credentials as secret outputs (GitHub masks them; GitLab keeps them out of dotenv).',
  },
  'retry-max-attempts': { ...retry['retry-max-attempts'], form: 'a whole number from 1 to 20' },
  'timeout-seconds': { ...retry['timeout-seconds'], form: 'a whole number of seconds from 5 to 900' },
} as const satisfies InputSpecs;

export type Inputs = InputValues<typeof inputs>;

export default defineStep({
  name: 'assume-role',
  description:
    'Assume an AWS IAM role with GitHub/GitLab OIDC, static keys, ambient or chained credentials, in one STS call',
  inputs,
  // configure-aws-credentials' inputs that have no meaning here, or another shape.
  unsupported: {
    'aws-profile': {
      why: 'credentials are exported as environment variables (export: env) or files, not to a profile',
    },
    'overwrite-aws-profile': { why: 'no profile is written', accept: ['false'] },
    'http-proxy': { why: 'requests do not go through a proxy' },
    'no-proxy': { why: 'requests do not go through a proxy' },
    'mask-aws-account-id': { why: 'the account ID is an output, not a secret; it is never masked', accept: ['false'] },
    'inline-session-policy': { why: 'session policies are not passed; scope the role itself' },
    'managed-session-policies': { why: 'session policies are not passed; scope the role itself' },
    'output-env-credentials': {
      why: 'use export: none to keep the credentials out of the environment',
      accept: ['true'],
    },
    'unset-current-credentials': {
      why: 'the credentials the step uses are chosen by its inputs (see role-chaining)',
      accept: ['false'],
    },
    'disable-retry': { why: 'set retry-max-attempts: 1', accept: ['false'] },
    'special-characters-workaround': {
      why: 'not needed: requests are signed whatever the secret holds',
      accept: ['false'],
    },
    'use-existing-credentials': { why: 'the step always assumes the role', accept: ['false'] },
    'force-skip-oidc': { why: 'give static keys or role-chaining to skip OIDC', accept: ['false'] },
    'custom-tags': { why: 'use session-tags (key=value per line)' },
    'sts-endpoint': { why: 'the STS endpoint follows the region (AWS_ENDPOINT_URL_STS points it elsewhere)' },
  },
  outputs: {
    'aws-account-id': { description: 'Account ID of the assumed role (from the STS answer).' },
    'assumed-role-arn': { description: 'ARN of the assumed role session.' },
    expiration: { description: 'When the credentials expire (ISO 8601).', aliases: ['aws-expiration'] },
    'aws-access-key-id': { description: 'Access key ID, with `output-credentials`.', secret: true },
    'aws-secret-access-key': { description: 'Secret access key, with `output-credentials`.', secret: true },
    'aws-session-token': { description: 'Session token, with `output-credentials`.', secret: true },
  },
  exports: {
    AWS_ACCESS_KEY_ID: 'export: env',
    AWS_SECRET_ACCESS_KEY: 'export: env',
    AWS_SESSION_TOKEN: 'export: env',
    AWS_REGION: 'export: env|file',
    AWS_DEFAULT_REGION: 'export: env|file',
    AWS_SHARED_CREDENTIALS_FILE: 'export: file',
    AWS_PROFILE: 'export: file',
    AWS_WEB_IDENTITY_TOKEN_FILE: 'export-token-file',
    AWS_ROLE_ARN: 'export-token-file',
    AWS_ROLE_SESSION_NAME: 'export-token-file',
  },
  gitlab: { stage: 'build', sourceEnv: true, userScript: true },
  lazy: async () => require('./lazy') as typeof import('./lazy'),
  main: (ctx) => main(ctx),
  post: (ctx) => post(ctx),
});
