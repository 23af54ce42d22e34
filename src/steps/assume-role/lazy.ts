// Loaded after the inputs validate (dist/assume-role/lazy.js): STS AssumeRole, signed, and the
// job's credentials (the SDK's chain, dist/assume-role/aws-sdk.js, only when they are not in the environment).
export { assumeRole } from '../../lib/aws/sts';
