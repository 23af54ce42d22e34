import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineStep } from '../../runtime/define';
import { ACCOUNT_ID_RE, ROLE_ARN_FORM, ROLE_ARN_RE, accountFromArn, ciTags, defaultSessionName, parseTags, sanitizeSessionName } from '../../lib/aws/arn';
import { REGION_RE, endpointFor, regionFrom } from '../../lib/aws/client';
import { fromLazy } from '../../lib/aws/revive';
import { chooseSource, describeSource, type SourcePlan } from '../../lib/aws/source';
import type { StsCallOptions, StsSource } from '../../lib/aws/sts-common';
import { assumeRoleWithWebIdentity } from '../../lib/aws/sts-query';
import { fetchGithubToken, readTokenFile, tokenFromVariable } from '../../lib/aws/web-identity';
import { InputError, ShiplineError } from '../../lib/util/errors';

const int = (min: number, max: number) => (v: string) => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be a whole number from ${min} to ${max}`);
const tagLine = (v: string) => (/^[\p{L}\p{Z}\p{N}_.:/+\-@]{1,128}=/u.test(v) ? undefined : `'${v}' is not key=value with a key of letters, digits, spaces or _.:/+-@`);
const tagKey = (v: string) => (/^[\p{L}\p{Z}\p{N}_.:/+\-@=]{1,128}$/u.test(v) ? undefined : `'${v}' is not a valid tag key`);

const CREDENTIAL_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

export default defineStep({
  name: 'assume-role',
  description: 'Assume an AWS IAM role with GitHub/GitLab OIDC, static keys, ambient or chained credentials, in one STS call',
  inputs: {
    'role-arn': { description: 'ARN of the role to assume.', required: true, regex: ROLE_ARN_RE, form: ROLE_ARN_FORM },
    region: { description: 'AWS region for STS (and exported as AWS_REGION / AWS_DEFAULT_REGION).', regex: REGION_RE, form: 'a region like eu-west-1', defaultDoc: '`AWS_REGION`, then `AWS_DEFAULT_REGION`' },
    'session-name': { description: 'Role session name (shown in CloudTrail); characters STS refuses become `-`, cut to 64.', defaultDoc: '`shipline-<ci>-<run/job id>`' },
    'duration-seconds': { type: 'number', description: 'Session length in seconds (900 to 43200, at most the role\'s MaxSessionDuration; 3600 when chaining).', default: 3600, check: int(900, 43200) },
    'external-id': { description: 'External ID the role\'s trust policy requires (AssumeRole only).' },
    'session-tags': { type: 'list', description: 'Session tags, `key=value` per line (AssumeRole only; OIDC sessions take tags from the token).', check: tagLine },
    'transitive-tag-keys': { type: 'list', description: 'Tag keys that carry over to chained sessions.', check: tagKey },
    'skip-session-tags': { type: 'boolean', description: 'Do not add the default CI tags (CI, Repository, Ref, Commit, Actor, Job) to AssumeRole; needed when the trust policy does not allow sts:TagSession.' },
    'web-identity-token': { description: 'An OIDC token to exchange (e.g. a GitLab id_token).', secret: true },
    'web-identity-token-file': { description: 'File holding an OIDC token; opened without following symlinks and re-read for every attempt.' },
    'web-identity-token-variable': { description: 'Name of the variable holding an OIDC token, e.g. the GitLab `id_tokens` entry `AWS_ID_TOKEN`.', regex: '[A-Za-z_][A-Za-z0-9_]*', form: 'a variable name like AWS_ID_TOKEN' },
    audience: { description: 'Audience of the GitHub OIDC token (the client ID on the IAM OIDC provider).', default: 'sts.amazonaws.com' },
    'role-chaining': { type: 'boolean', description: 'Assume the role with the credentials already in the job (e.g. from an earlier assume-role); default CI tags are then skipped.' },
    'aws-access-key-id': { description: 'Static access key ID to assume the role with.', secret: true },
    'aws-secret-access-key': { description: 'Static secret access key.', secret: true },
    'aws-session-token': { description: 'Session token for temporary static keys.', secret: true },
    'allowed-account-ids': { type: 'list', description: 'Fail unless the role is in one of these account IDs (checked before and after the call).', regex: ACCOUNT_ID_RE, form: 'a 12-digit account ID' },
    export: { description: '`env`: export AWS_* credentials to the job (GitHub: masked, GITHUB_ENV; GitLab/CLI: only the 0600 env file); `file`: write a 0600 shared credentials file and export its path with AWS_PROFILE; `none`: outputs only.', default: 'env', options: ['env', 'file', 'none'] },
    'export-token-file': { type: 'boolean', description: 'Long jobs (web identity only): write the token to a 0600 file and export AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN instead of keys, so SDKs refresh credentials themselves.' },
    'output-credentials': { type: 'boolean', description: 'Also set the credentials as secret outputs (GitHub masks them; GitLab keeps them out of dotenv).' },
    'retry-max-attempts': { type: 'number', description: 'STS attempts in all; only throttling, 5xx, timeouts and connection failures are retried.', default: 5, check: int(1, 20) },
    'timeout-seconds': { type: 'number', description: 'Deadline for all attempts together (each attempt is cut at 10 s).', default: 60, check: int(5, 900) },
  },
  outputs: {
    'aws-account-id': { description: 'Account ID of the assumed role (from the STS answer).' },
    'assumed-role-arn': { description: 'ARN of the assumed role session.' },
    expiration: { description: 'When the credentials expire (ISO 8601).' },
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

  async main(ctx) {
    const i = ctx.inputs;
    const region = regionFrom(i.region, ctx.env);
    if (!region) throw new InputError('region', 'is required: no input and no AWS_REGION / AWS_DEFAULT_REGION in the job', 'give the region of STS, e.g. region: eu-west-1');
    const roleAccount = accountFromArn(i.roleArn)!;
    if (i.allowedAccountIds.length && !i.allowedAccountIds.includes(roleAccount)) {
      throw new InputError('role-arn', `is in account ${roleAccount}, which is not in allowed-account-ids (${i.allowedAccountIds.join(', ')})`, 'use a role of an allowed account or extend allowed-account-ids');
    }
    if (i.roleChaining && i.durationSeconds > 3600) {
      throw new InputError('duration-seconds', `${i.durationSeconds} s is more than the 1 h STS allows for chained roles`, 'use at most 3600 with role-chaining');
    }
    const plan = chooseSource(i, ctx.env);
    if (i.exportTokenFile && plan.kind !== 'web-identity') {
      throw new InputError('export-token-file', 'needs a web identity token source', 'use it with GitHub OIDC or a web-identity-token input, file or variable');
    }
    const sessionName = i.sessionName ? sanitizeSessionName(i.sessionName) : defaultSessionName(ctx.ci.provider, ctx.ci.jobId);
    // Each value is announced once (a retried GitHub fetch returns the same request token).
    const masked = new Set<string>();
    const secret = (v: string) => {
      if (masked.has(v)) return;
      masked.add(v);
      ctx.secret(v);
    };
    const source = stsSource(plan, i, ctx.env, secret);
    let tags = parseTags(i.sessionTags);
    if (plan.kind === 'web-identity') {
      if (tags.length) ctx.log.warn('session-tags are ignored for web identity: AssumeRoleWithWebIdentity takes session tags from the token');
      tags = [];
    } else if (!i.skipSessionTags && !i.roleChaining) {
      const explicit = new Set(tags.map((t) => t.Key));
      tags = [...tags, ...ciTags(ctx.ci).filter((t) => !explicit.has(t.Key))];
    }
    ctx.log.info(`assuming ${i.roleArn} in ${region} as session ${sessionName} with ${describeSource(plan, i)}`);

    const params = {
      roleArn: i.roleArn,
      sessionName,
      durationSeconds: i.durationSeconds,
      ...(i.externalId ? { externalId: i.externalId } : {}),
      ...(tags.length ? { tags } : {}),
      ...(i.transitiveTagKeys.length ? { transitiveTagKeys: i.transitiveTagKeys } : {}),
    };
    const options: StsCallOptions = {
      region,
      endpoint: endpointFor(ctx.env, 'STS'),
      policy: { maxAttempts: i.retryMaxAttempts, deadlineMs: i.timeoutSeconds * 1000 },
      log: ctx.log,
      onSecret: secret,
      ...(plan.kind === 'web-identity' && plan.from === 'github' ? { audience: i.audience } : {}),
    };
    let role;
    if (source.kind === 'web-identity') {
      // Unsigned: one Query-protocol POST, no SDK to load.
      role = await assumeRoleWithWebIdentity(params, source, options);
    } else {
      // SigV4 and the credential chain: the SDK, loaded only now from lazy.js. require, not
      // import(): a dynamic import would send the CommonJS bundle through Node's ESM loader,
      // which lexes all of it (tens of ms).
      const { assumeRole } = require('./lazy') as typeof import('./lazy');
      role = await fromLazy(() => assumeRole(params, source, options));
    }
    if (i.allowedAccountIds.length && !i.allowedAccountIds.includes(role.accountId)) {
      throw new ShiplineError(`STS returned a session in account ${role.accountId}, which is not in allowed-account-ids (${i.allowedAccountIds.join(', ')}); nothing was exported`, {
        hint: 'check role-arn and the account the credentials belong to',
      });
    }

    const exported: string[] = [];
    const exportVar = (name: string, value: string, secret = false) => {
      ctx.exportVariable(name, value, { secret });
      exported.push(name);
    };
    const regionVars = () => {
      exportVar('AWS_REGION', region);
      exportVar('AWS_DEFAULT_REGION', region);
    };
    if (i.export !== 'none' && i.exportTokenFile && role.token) {
      const dir = privateDir(ctx.tempDir);
      ctx.saveState('dir', dir);
      const file = join(dir, 'web-identity-token');
      writeFileSync(file, role.token, { mode: 0o600 });
      exportVar('AWS_WEB_IDENTITY_TOKEN_FILE', file);
      exportVar('AWS_ROLE_ARN', i.roleArn);
      exportVar('AWS_ROLE_SESSION_NAME', sessionName);
      regionVars();
      ctx.log.info(`wrote the web identity token to ${file} (0600); SDKs refresh credentials from it while the token is valid`);
    } else if (i.export === 'env') {
      exportVar('AWS_ACCESS_KEY_ID', role.accessKeyId, true);
      exportVar('AWS_SECRET_ACCESS_KEY', role.secretAccessKey, true);
      exportVar('AWS_SESSION_TOKEN', role.sessionToken, true);
      regionVars();
    } else if (i.export === 'file') {
      const dir = privateDir(ctx.tempDir);
      ctx.saveState('dir', dir);
      const file = join(dir, 'credentials');
      const ini = ['[shipline]', `aws_access_key_id = ${role.accessKeyId}`, `aws_secret_access_key = ${role.secretAccessKey}`, `aws_session_token = ${role.sessionToken}`, ''].join('\n');
      writeFileSync(file, ini, { mode: 0o600 });
      exportVar('AWS_SHARED_CREDENTIALS_FILE', file);
      exportVar('AWS_PROFILE', 'shipline');
      regionVars();
      if (CREDENTIAL_VARS.some((n) => ctx.env[n])) ctx.log.warn('AWS_ACCESS_KEY_ID is already set in the job: SDKs prefer it over the credentials file');
    }
    if (exported.length) ctx.saveState('exported', exported.join(','));

    ctx.setOutput('aws-account-id', role.accountId);
    ctx.setOutput('assumed-role-arn', role.assumedRoleArn);
    if (role.expiration) ctx.setOutput('expiration', role.expiration.toISOString());
    if (i.outputCredentials) {
      ctx.setOutput('aws-access-key-id', role.accessKeyId);
      ctx.setOutput('aws-secret-access-key', role.secretAccessKey);
      ctx.setOutput('aws-session-token', role.sessionToken);
    }
    const until = role.expiration ? `, valid until ${role.expiration.toISOString()}` : '';
    ctx.log.info(`assumed ${role.assumedRoleArn} (account ${role.accountId}) in ${role.attempts} STS call${role.attempts === 1 ? '' : 's'}${until}`);
    if (exported.length) ctx.log.info(`exported ${exported.join(', ')}`);
    ctx.summary(`### AWS role\n\n- role: \`${role.assumedRoleArn}\`\n- account: \`${role.accountId}\`\n- expires: ${role.expiration?.toISOString() ?? 'unknown'}\n`);
  },

  async post(ctx) {
    // Only what main recorded: no state means main exported nothing (or never ran).
    const dir = ctx.getState('dir');
    if (dir) rmSync(dir, { recursive: true, force: true });
    const names = ctx.getState('exported')?.split(',').filter(Boolean) ?? [];
    // GitLab/CLI: the runtime removes the names from the env file. GitHub: blank them so
    // later post steps of other actions do not run with this role.
    if (ctx.platform === 'github') for (const n of names) ctx.exportVariable(n, '');
    if (dir || names.length) ctx.log.info(`cleared ${[...names, ...(dir ? [dir] : [])].join(', ')}`);
  },
});

function privateDir(base: string): string {
  // mkdtemp creates the directory 0700 with an unguessable name.
  return mkdtempSync(join(base, 'shipline-aws-'));
}

function stsSource(
  plan: SourcePlan,
  i: { webIdentityToken?: string | undefined; webIdentityTokenFile?: string | undefined; webIdentityTokenVariable?: string | undefined; audience: string; awsAccessKeyId?: string | undefined; awsSecretAccessKey?: string | undefined; awsSessionToken?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
  onSecret: (v: string) => void,
): StsSource {
  switch (plan.kind) {
    case 'static':
      return { kind: 'static', accessKeyId: i.awsAccessKeyId!, secretAccessKey: i.awsSecretAccessKey!, ...(i.awsSessionToken ? { sessionToken: i.awsSessionToken } : {}) };
    case 'ambient':
      return { kind: 'ambient', chained: plan.chained };
    default:
      break;
  }
  switch (plan.from) {
    case 'github':
      return { kind: 'web-identity', origin: 'GitHub OIDC', refreshable: true, token: (signal) => fetchGithubToken(env, i.audience, { signal, onSecret }) };
    case 'file': {
      const file = i.webIdentityTokenFile!;
      readTokenFile(file, onSecret); // fail before loading the SDK when the file is unusable
      return { kind: 'web-identity', origin: `file ${file}`, refreshable: true, token: async () => readTokenFile(file, onSecret) };
    }
    case 'variable': {
      const name = i.webIdentityTokenVariable!;
      tokenFromVariable(env, name, onSecret);
      return { kind: 'web-identity', origin: `variable ${name}`, refreshable: false, token: async () => tokenFromVariable(env, name, onSecret) };
    }
    default: {
      const token = i.webIdentityToken!.trim();
      onSecret(token);
      return { kind: 'web-identity', origin: 'input', refreshable: false, token: async () => token };
    }
  }
}
