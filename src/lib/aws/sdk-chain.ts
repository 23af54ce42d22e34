// The AWS SDK's default credential chain (profiles, SSO, process, token file, container and
// instance metadata), for a job whose credentials are not in the environment. scripts/build.mjs
// makes this module its own bundle (dist/<step>/aws-sdk.js): it is parsed only when called.
// The bundle is built with the SDK's AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED read as
// set (scripts/build.mjs), so a client the chain builds on Node 20 prints no version warning.
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentials } from './credentials';

export async function sdkChainCredentials(region: string): Promise<AwsCredentials> {
  // The region also as the parent client's: a profile's web identity or role takes its STS
  // client's region from there (else us-east-1, with a warning on stderr).
  const c = await fromNodeProviderChain({ clientConfig: { region }, parentClientConfig: { region } })();
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
  };
}
