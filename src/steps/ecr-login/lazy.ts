// Loaded after the inputs validate (dist/ecr-login/lazy.js): ECR and the AWS SDK.
export { ecrAuthorization } from '../../lib/aws/ecr';
