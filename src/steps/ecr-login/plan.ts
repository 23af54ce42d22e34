// ecr-login's inputs as one plan before any call: private registries (by account ID, in a
// region) or ECR Public (one registry, tokens from us-east-1), and every input error (exit 2).
import { ECR_PUBLIC_REGION, type CallPolicy } from '../../lib/aws/client';
import type { EcrOptions } from '../../lib/aws/ecr';
import type { Env } from '../../lib/util/env';
import { InputError } from '../../runtime/inputs';
import { callPolicy, checkedEndpoint, checkedRegion, checkEnvCredentials } from '../shared/aws';
import type { Inputs } from './index';

export interface LoginPlan extends Omit<EcrOptions, 'log' | 'onSecret'> {
  policy: CallPolicy;
  /** Said before the call: inputs that have no effect here. */
  warnings: string[];
}

export function planLogin(i: Inputs, env: Env): LoginPlan {
  const pub = i.registryType === 'public';
  const region = pub ? ECR_PUBLIC_REGION : checkedRegion(i.region, env);
  if (!region)
    throw new InputError(
      'region',
      'is required: no input and no AWS_REGION / AWS_DEFAULT_REGION in the job',
      'give the region of the registries, e.g. region: eu-west-1',
    );
  checkEnvCredentials(env);
  const warnings: string[] = [];
  if (pub && i.registries.length) warnings.push('registries is ignored for ECR Public (one registry: public.ecr.aws)');
  if (pub && i.region && i.region !== ECR_PUBLIC_REGION)
    warnings.push(`ECR Public tokens come from ${ECR_PUBLIC_REGION}; region ${i.region} is not used`);
  return {
    type: i.registryType,
    region,
    registryIds: pub ? [] : i.registries,
    endpoint: checkedEndpoint(env, pub ? 'ECR_PUBLIC' : 'ECR'),
    policy: callPolicy(i),
    warnings,
  };
}
