// The AWS SDK's default credential chain (profiles, SSO, process, token file, container and
// instance metadata), for a job whose credentials are not in the environment. scripts/build.mjs
// makes this module its own bundle (dist/<step>/aws-sdk.js): it is parsed only when called.
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentials } from './credentials';

export async function sdkChainCredentials(region: string): Promise<AwsCredentials> {
  const c = await fromNodeProviderChain({ clientConfig: { region } })();
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
  };
}
