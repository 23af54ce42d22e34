// Which credentials assume-role calls STS with, chosen by one documented precedence from
// the inputs and the job, before any network call:
//   role-chaining > web-identity-token > web-identity-token-file > web-identity-token-variable
//   > static keys > GitHub OIDC (when the job may request a token) > ambient (SDK chain).
// Giving two explicit sources at once is an input error, not a silent pick.
import { InputError } from '../util/errors';
import { githubOidcAvailable } from './web-identity';

type Env = Readonly<Record<string, string | undefined>>;

export type SourcePlan =
  | { kind: 'web-identity'; from: 'input' | 'file' | 'variable' | 'github' }
  | { kind: 'static' }
  | { kind: 'ambient'; chained: boolean };

export interface SourceInputs {
  roleChaining: boolean;
  webIdentityToken?: string | undefined;
  webIdentityTokenFile?: string | undefined;
  webIdentityTokenVariable?: string | undefined;
  awsAccessKeyId?: string | undefined;
  awsSecretAccessKey?: string | undefined;
}

export function chooseSource(inputs: SourceInputs, env: Env): SourcePlan {
  const given: [string, SourcePlan][] = [];
  if (inputs.webIdentityToken) given.push(['web-identity-token', { kind: 'web-identity', from: 'input' }]);
  if (inputs.webIdentityTokenFile) given.push(['web-identity-token-file', { kind: 'web-identity', from: 'file' }]);
  if (inputs.webIdentityTokenVariable) given.push(['web-identity-token-variable', { kind: 'web-identity', from: 'variable' }]);
  if (inputs.awsAccessKeyId || inputs.awsSecretAccessKey) {
    if (!inputs.awsAccessKeyId || !inputs.awsSecretAccessKey) {
      throw new InputError(inputs.awsAccessKeyId ? 'aws-secret-access-key' : 'aws-access-key-id', 'is required with the other static key', 'give both aws-access-key-id and aws-secret-access-key');
    }
    given.push(['aws-access-key-id', { kind: 'static' }]);
  }
  if (inputs.roleChaining) {
    if (given.length) throw new InputError('role-chaining', `cannot be combined with ${given.map(([n]) => n).join(', ')}`, 'role chaining uses the credentials already in the job; drop the other credential inputs');
    return { kind: 'ambient', chained: true };
  }
  if (given.length > 1) {
    throw new InputError(given[1]![0], `conflicts with ${given[0]![0]}: give one credential source`, 'pick one of web-identity-token, web-identity-token-file, web-identity-token-variable or the static keys');
  }
  if (given[0]) return given[0][1];
  if (githubOidcAvailable(env)) return { kind: 'web-identity', from: 'github' };
  return { kind: 'ambient', chained: false };
}

export function describeSource(plan: SourcePlan, inputs: SourceInputs & { audience: string }): string {
  switch (plan.kind) {
    case 'web-identity':
      return plan.from === 'github'
        ? `GitHub OIDC token (audience ${inputs.audience})`
        : plan.from === 'file'
          ? `web identity token file ${inputs.webIdentityTokenFile}`
          : plan.from === 'variable'
            ? `web identity token in $${inputs.webIdentityTokenVariable}`
            : 'web identity token from the input';
    case 'static':
      return 'static access keys from the inputs';
    default:
      return plan.chained ? 'the credentials already in the job (role chaining)' : 'the AWS SDK default credential chain (env, profile, container/instance metadata)';
  }
}
