// assume-role's work: plan the call, get the token or keys ready, make the one STS call
// (AssumeRoleWithWebIdentity unsigned from index.js; AssumeRole signed, from lazy.js), check
// the account, hand the credentials to the job, and say what happened. A failure is worded
// here, with the inputs to change (explain).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from '../../runtime/define';
import { claimText, issuerKey, shownClaims, trustProblem, type Claims, type TrustProblem } from '../../lib/aws/claims';
import { NO_CREDENTIALS } from '../../lib/aws/errors';
import type { AssumedRole, StsCallOptions, StsSource } from '../../lib/aws/sts-common';
import { assumeRoleWithWebIdentity } from '../../lib/aws/sts-query';
import { fetchGithubToken, readTokenFile, tokenFromVariable } from '../../lib/aws/web-identity';
import type { Env } from '../../lib/util/env';
import { isShiplineError, ShiplineError, withHint } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';
import { unreachableHint } from '../shared/aws';
import type { Inputs } from './index';
import type * as Lazy from './lazy';
import { describeSource, planAssume, type AssumePlan, type SourcePlan } from './plan';

export type StepCtx = Ctx<Inputs, typeof Lazy>;

/** The 0700 directory main writes the token or credentials file into; post removes it. */
export const privateDir = (ctx: StepCtx) => ctx.state<string>('dir');

const CREDENTIAL_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

export async function main(ctx: StepCtx): Promise<void> {
  const i = ctx.inputs;
  const plan = planAssume(i, ctx.env, ctx.ci);
  let role: AssumedRole;
  try {
    const source = stsSource(plan.source, i, ctx.env, (v) => ctx.secret(v));
    for (const w of plan.warnings) ctx.log.warn(w);
    ctx.log.info(
      `assuming ${i.roleArn} in ${plan.region} as session ${plan.params.sessionName} with ${describeSource(plan.source, i)}`,
    );
    role = await assume(ctx, plan, source);
  } catch (err) {
    throw explain(err, plan);
  }
  if (i.allowedAccountIds.length && !i.allowedAccountIds.includes(role.accountId)) {
    throw new ShiplineError(
      `STS returned a session in account ${role.accountId}, which is not in allowed-account-ids (${i.allowedAccountIds.join(', ')}); nothing was exported`,
      {
        kind: 'denied',
        hint: 'check role-arn and the account the credentials belong to',
      },
    );
  }
  exportCredentials(ctx, plan, role);
  setOutputs(ctx, role);
}

/** The token getter or the keys STS is called with; a token file or variable is checked now, before any call. */
function stsSource(plan: SourcePlan, i: Inputs, env: Env, onSecret: (v: string) => void): StsSource {
  switch (plan.kind) {
    case 'static':
      return {
        kind: 'static',
        accessKeyId: i.awsAccessKeyId!.trim(),
        secretAccessKey: i.awsSecretAccessKey!.trim(),
        ...(i.awsSessionToken?.trim() ? { sessionToken: i.awsSessionToken.trim() } : {}),
      };
    case 'ambient':
      return { kind: 'ambient', chained: plan.chained };
    default:
      break;
  }
  switch (plan.from) {
    case 'github':
      return {
        kind: 'web-identity',
        origin: 'GitHub OIDC',
        refreshable: true,
        token: (signal) => fetchGithubToken(env, i.audience, { signal, onSecret }),
      };
    case 'file': {
      const file = i.webIdentityTokenFile!;
      // fail before loading the SDK when the file is unusable: the input's error (exit 2)
      asInput('web-identity-token-file', 'give the path of a readable file holding the token', () =>
        readTokenFile(file, onSecret),
      );
      return {
        kind: 'web-identity',
        origin: `file ${file}`,
        refreshable: true,
        token: async () => readTokenFile(file, onSecret),
      };
    }
    case 'variable': {
      const name = i.webIdentityTokenVariable!;
      asInput('web-identity-token-variable', `set ${name} in the job, or name the variable that holds the token`, () =>
        tokenFromVariable(env, name, onSecret),
      );
      return {
        kind: 'web-identity',
        origin: `variable ${name}`,
        refreshable: false,
        token: async () => tokenFromVariable(env, name, onSecret),
      };
    }
    default: {
      const token = i.webIdentityToken!.trim();
      onSecret(token);
      return { kind: 'web-identity', origin: 'input', refreshable: false, token: async () => token };
    }
  }
}

/** The first read of a token the inputs name: what is wrong with it is that input's error (exit 2). */
function asInput<T>(input: string, hint: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!isShiplineError(err) || err.kind === 'input' || err.kind === 'bug') throw err;
    throw new InputError(input, err.message, err.hint ?? hint);
  }
}

/** The one STS call: unsigned web identity from index.js, else a signed AssumeRole from lazy.js. */
async function assume(ctx: StepCtx, plan: AssumePlan, source: StsSource): Promise<AssumedRole> {
  const options: StsCallOptions = {
    region: plan.region,
    endpoint: plan.endpoint,
    policy: plan.policy,
    log: ctx.log,
    onSecret: (v) => ctx.secret(v),
  };
  if (source.kind === 'web-identity') return assumeRoleWithWebIdentity(plan.params, source, options);
  return (await ctx.lazy()).assumeRole(plan.params, source, options, ctx.env);
}

/** export: env (variables), file (a 0600 credentials file + AWS_PROFILE), or export-token-file (the token for SDKs to refresh with). */
function exportCredentials(ctx: StepCtx, plan: AssumePlan, role: AssumedRole): void {
  const i = ctx.inputs;
  const exportVar = (name: string, value: string, secret = false) => ctx.exportVariable(name, value, { secret });
  const regionVars = () => {
    exportVar('AWS_REGION', plan.region);
    exportVar('AWS_DEFAULT_REGION', plan.region);
  };
  if (i.export !== 'none' && i.exportTokenFile && role.token) {
    const file = writePrivate(ctx, 'web-identity-token', role.token);
    exportVar('AWS_WEB_IDENTITY_TOKEN_FILE', file);
    exportVar('AWS_ROLE_ARN', i.roleArn);
    exportVar('AWS_ROLE_SESSION_NAME', plan.params.sessionName);
    regionVars();
    ctx.log.info(
      `wrote the web identity token to ${file} (0600); SDKs refresh credentials from it while the token is valid`,
    );
  } else if (i.export === 'env') {
    exportVar('AWS_ACCESS_KEY_ID', role.accessKeyId, true);
    exportVar('AWS_SECRET_ACCESS_KEY', role.secretAccessKey, true);
    exportVar('AWS_SESSION_TOKEN', role.sessionToken, true);
    regionVars();
  } else if (i.export === 'file') {
    const ini = [
      '[shipline]',
      `aws_access_key_id = ${role.accessKeyId}`,
      `aws_secret_access_key = ${role.secretAccessKey}`,
      `aws_session_token = ${role.sessionToken}`,
      '',
    ].join('\n');
    exportVar('AWS_SHARED_CREDENTIALS_FILE', writePrivate(ctx, 'credentials', ini));
    exportVar('AWS_PROFILE', 'shipline');
    regionVars();
    if (CREDENTIAL_VARS.some((n) => ctx.env[n]))
      ctx.log.warn('AWS_ACCESS_KEY_ID is already set in the job: SDKs prefer it over the credentials file');
  }
}

/** Writes `name` (0600) into a fresh 0700 directory with an unguessable name, recorded for post. */
function writePrivate(ctx: StepCtx, name: string, content: string): string {
  const dir = mkdtempSync(join(ctx.tempDir, 'shipline-aws-'));
  privateDir(ctx).set(dir);
  const file = join(dir, name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

function setOutputs(ctx: StepCtx, role: AssumedRole): void {
  ctx.setOutput('aws-account-id', role.accountId);
  ctx.setOutput('assumed-role-arn', role.assumedRoleArn);
  if (role.expiration) ctx.setOutput('expiration', role.expiration.toISOString());
  if (ctx.inputs.outputCredentials) {
    ctx.setOutput('aws-access-key-id', role.accessKeyId);
    ctx.setOutput('aws-secret-access-key', role.secretAccessKey);
    ctx.setOutput('aws-session-token', role.sessionToken);
  }
  const until = role.expiration ? `, valid until ${role.expiration.toISOString()}` : '';
  ctx.log.info(
    `assumed ${role.assumedRoleArn} (account ${role.accountId}) in ${role.attempts} STS call${role.attempts === 1 ? '' : 's'}${until}`,
  );
  ctx.summary(
    `### AWS role\n\n- role: \`${role.assumedRoleArn}\`\n- account: \`${role.accountId}\`\n- expires: ${role.expiration?.toISOString() ?? 'unknown'}\n`,
  );
}

const WEB_IDENTITY_REJECTIONS = ['AccessDenied', 'InvalidIdentityToken', 'ExpiredTokenException', 'IDPRejectedClaim'];

/**
 * A failure of the STS call or of its token source, with what to change: the library's
 * error keeps its message, kind and data (AWS code and message, the role, the STS endpoint,
 * the token's claims); the hint names this step's inputs.
 */
export function explain(err: unknown, plan: Pick<AssumePlan, 'source' | 'params' | 'audience'>): unknown {
  if (!isShiplineError(err) || err.kind === 'input' || err.kind === 'bug') return err;
  const { code, message, endpoint } = err.data as { code?: string; message?: string; endpoint?: string };
  const roleArn = plan.params.roleArn;
  if (err.kind === 'transient') return withHint(err, unreachableHint(`STS (${endpoint})`));
  if (code === NO_CREDENTIALS) {
    return withHint(
      err,
      plan.source.kind === 'ambient' && plan.source.chained
        ? 'role-chaining uses the credentials already in the job: run assume-role (or set AWS_ACCESS_KEY_ID/…) before this step'
        : 'use a web identity token (GitHub: permissions: id-token: write; GitLab: id_tokens + web-identity-token-variable), static keys, or run where the SDK finds credentials',
    );
  }
  if (plan.source.kind === 'web-identity' && code !== undefined && WEB_IDENTITY_REJECTIONS.includes(code)) {
    return withHint(
      err,
      trustHint(err.data.claims as Claims | undefined, roleArn, trustProblem(code, message ?? ''), plan.audience),
    );
  }
  if (code === 'AccessDenied') {
    const hints = [`the trust policy of ${roleArn} must allow the caller (see the message) to sts:AssumeRole`];
    if (plan.params.externalId !== undefined) hints.push('and require exactly this external-id');
    if (plan.params.tags?.length)
      hints.push(
        'and sts:TagSession (session tags were sent: set skip-session-tags: true if the role cannot allow it)',
      );
    return withHint(err, hints.join(' '));
  }
  if (code === 'ValidationError' && /DurationSeconds|duration/i.test(message ?? '')) {
    return withHint(
      err,
      "lower duration-seconds to the role's MaxSessionDuration (1 h for chained roles), or raise that setting on the role",
    );
  }
  if (code === 'RegionDisabledException')
    return withHint(err, 'activate STS in this region (IAM > Account settings) or use another region');
  if (err.kind === 'not-found' && err.data.file !== undefined)
    return withHint(err, 'check the input web-identity-token-file');
  if (err.hint !== undefined) return err;
  return withHint(err, 'see the STS message above; check role-arn, region and the credentials the step used');
}

/**
 * Multi-line hint: the token's claims beside the trust-policy conditions of `roleArn` that
 * would admit them, for the kind of rejection STS reported.
 */
export function trustHint(
  claims: Claims | undefined,
  roleArn: string,
  problem: TrustProblem,
  audienceInput: string | undefined,
): string {
  if (!claims)
    return 'the web identity token is not a JWT (three base64url parts): pass the id_token itself, not an access token';
  const host = issuerKey(claims.iss);
  const aud = claimText(claims.aud);
  const account = /::(\d{12}):/.exec(roleArn)?.[1] ?? '<account>';
  const lines = ['the token presented to STS carries these claims:', ...shownClaims(claims)];
  switch (problem) {
    case 'audience':
      lines.push(
        `the IAM OIDC provider for ${host} does not list the audience '${aud}' as a client ID:`,
        `  add it to the provider (aws iam add-client-id-to-open-id-connect-provider --client-id '${aud}'),`,
        audienceInput !== undefined
          ? `  or set the input 'audience' to a client ID the provider lists (usually sts.amazonaws.com)`
          : `  or request the id_token with an audience the provider lists (GitLab: id_tokens: <NAME>: aud: sts.amazonaws.com)`,
      );
      break;
    case 'issuer':
      lines.push(
        `no IAM OIDC provider exists for the issuer: create arn:aws:iam::${account}:oidc-provider/${host} (URL https://${host}, client ID '${aud}')`,
      );
      break;
    case 'expired':
      lines.push(
        'the token expired before STS saw it: request it right before the call (shipline fetches a fresh GitHub token per attempt; GitLab id_tokens live as long as the job)',
      );
      break;
    default:
      lines.push(
        `the trust policy of ${roleArn} must allow sts:AssumeRoleWithWebIdentity for`,
        `  Principal: { "Federated": "arn:aws:iam::${account}:oidc-provider/${host}" }`,
        `  Condition: StringEquals "${host}:aud": "${aud}"`,
        `             StringLike   "${host}:sub": "${claimText(claims.sub)}"  (or a pattern matching it)`,
      );
      if (problem === 'invalid')
        lines.push('STS also rejected the token itself: check that it comes from this issuer and has not been altered');
  }
  return lines.join('\n');
}
