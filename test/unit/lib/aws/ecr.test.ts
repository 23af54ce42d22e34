// ECR authorization data: token decoding (secrets registered before use) and registry hosts.
import { decodeAuthorization, registryHost } from '../../../../src/lib/aws/ecr';

describe('ECR authorization data', () => {
  test('user:password decoded; token and password registered as secrets first', () => {
    const secrets: string[] = [];
    const token = Buffer.from('AWS:pa:ss').toString('base64');
    expect(decodeAuthorization(token, (s) => secrets.push(s))).toEqual({ username: 'AWS', password: 'pa:ss' });
    expect(secrets).toEqual([token, 'pa:ss']);
    expect(() => decodeAuthorization(Buffer.from('nocolon').toString('base64'), () => undefined)).toThrow(
      /not user:password/,
    );
  });

  test('registry host from the proxy endpoint', () => {
    expect(registryHost('https://123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    );
    expect(registryHost('http://127.0.0.1:5002/')).toBe('127.0.0.1:5002');
  });
});
