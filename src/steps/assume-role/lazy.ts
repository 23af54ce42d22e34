// Loaded after the inputs validate (dist/assume-role/lazy.js): STS AssumeRole and the AWS SDK.
export { assumeRole } from '../../lib/aws/sts';
