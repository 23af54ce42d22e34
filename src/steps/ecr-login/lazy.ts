// Loaded after the inputs validate (dist/ecr-login/lazy.js): the one signed GetAuthorizationToken
// request and the job's credentials (the SDK's chain only when they are not in the environment).
import { ecrAuthorization, type EcrAuth } from '../../lib/aws/ecr';
import type { StepCtx } from './main';
import type { LoginPlan } from './plan';

/** GetAuthorizationToken for the plan, with the job's credentials; secrets registered with the step. */
export const authorize = (plan: LoginPlan, ctx: Pick<StepCtx, 'env' | 'log' | 'secret'>): Promise<EcrAuth[]> =>
  ecrAuthorization({ ...plan, log: ctx.log, onSecret: (v) => ctx.secret(v) }, ctx.env);
