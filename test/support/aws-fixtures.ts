// Shapes the AWS tests share: an unsigned JWT with given claims, an SDK-shaped error.
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export const jwt = (claims: Record<string, unknown>) =>
  `${b64({ alg: 'RS256' })}.${b64(claims)}.c2lnbmF0dXJlLW5vdC1zaG93bg`;

export const awsError = (name: string, status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`${name} message`), {
    name,
    $metadata: { httpStatusCode: status },
    $response: { statusCode: status, headers },
  });
