// Built into dist/retag/lazy.js (scripts/build.mjs): the AWS SDK part, loaded only for
// method ecr-api, so the registry path never parses the SDK.
export { ecrSession } from '../../lib/registry/ecr-api';
