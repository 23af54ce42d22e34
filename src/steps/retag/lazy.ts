// Built into dist/retag/lazy.js (scripts/build.mjs): ECR's API (signed requests), loaded only
// for method ecr-api, so the registry path never parses it; the SDK's credential chain is
// dist/retag/aws-sdk.js, loaded only when the job's credentials are not in the environment.
export { ecrSession } from '../../lib/registry/ecr-api';
