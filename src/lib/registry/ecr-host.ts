// ECR registry host names: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`.
// Kept apart from ecr-api.ts so deciding the method never loads the AWS SDK.
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** Account and region from an ECR host name, or undefined for any other registry. */
export function parseEcrHost(registry: string): { account: string; region: string } | undefined {
  const m = ECR_HOST.exec(registry);
  return m ? { account: m[1]!, region: m[2]! } : undefined;
}
