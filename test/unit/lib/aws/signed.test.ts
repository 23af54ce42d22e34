// SigV4 signing (aws4 under signRequest) against AWS's published test vectors and the
// bench endpoints' own verifier (test/endpoints/sigv4.ts), and JSON 1.1 error codes.
import type { IncomingMessage } from 'node:http';
import { jsonErrorCode, signRequest } from '../../../../src/lib/aws/signed';
import { verifySigV4 } from '../../../endpoints/sigv4';

const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const AT = new Date('2015-08-30T12:36:00Z');

/** What a server sees of the signed request: the verifier reads rawHeaders, headers, url, method. */
function asIncoming(url: URL, method: string, headers: Record<string, string>): IncomingMessage {
  return {
    method,
    url: `${url.pathname}${url.search}`,
    headers,
    rawHeaders: Object.entries(headers).flat(),
  } as unknown as IncomingMessage;
}

describe('signRequest: AWS SigV4 test suite vectors', () => {
  test('get-vanilla', () => {
    const { headers } = signRequest(
      {
        endpoint: 'https://example.amazonaws.com/',
        service: 'service',
        region: 'us-east-1',
        method: 'GET',
        headers: {},
        body: '',
        credentials: EXAMPLE,
      },
      AT,
    );
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  test('get-vanilla-query-order-key-case: the query is sorted before signing', () => {
    const { headers } = signRequest(
      {
        endpoint: 'https://example.amazonaws.com/?Param2=value2&Param1=value1',
        service: 'service',
        region: 'us-east-1',
        method: 'GET',
        headers: {},
        body: '',
        credentials: EXAMPLE,
      },
      AT,
    );
    expect(headers.authorization).toMatch(
      /Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500$/,
    );
  });
});

describe('signRequest: accepted by the bench verifier', () => {
  const secret = 'bench/secret+key';
  const request = (sessionToken?: string) =>
    signRequest({
      endpoint: 'http://127.0.0.1:5005/',
      service: 'ecr',
      region: 'eu-west-1',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
        'user-agent': 'shipline/test',
      },
      body: '{"registryIds":["123456789012"]}',
      credentials: { accessKeyId: 'AKIATEST', secretAccessKey: secret, ...(sessionToken ? { sessionToken } : {}) },
    });
  const body = Buffer.from('{"registryIds":["123456789012"]}');

  test('key pair: host, date, content headers and target signed; the user agent is not', () => {
    const { url, headers } = request();
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIATEST\/\d{8}\/eu-west-1\/ecr\/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.host).toBe('127.0.0.1:5005');
    expect(headers['content-length']).toBe(String(body.length));
    const ok = verifySigV4(asIncoming(url, 'POST', headers), body, 'ecr', (id) =>
      id === 'AKIATEST' ? { secretAccessKey: secret } : undefined,
    );
    expect(ok).toEqual({ ok: true, accessKeyId: 'AKIATEST', region: 'eu-west-1' });
  });

  test('session token: sent and signed; a wrong secret or a changed body fails', () => {
    const { url, headers } = request('token/with+chars=');
    expect(headers['x-amz-security-token']).toBe('token/with+chars=');
    expect(headers.authorization).toContain('x-amz-security-token');
    const lookup = (s: string) => () => ({ secretAccessKey: s, sessionToken: 'token/with+chars=' });
    expect(verifySigV4(asIncoming(url, 'POST', headers), body, 'ecr', lookup(secret)).ok).toBe(true);
    expect(verifySigV4(asIncoming(url, 'POST', headers), body, 'ecr', lookup('other'))).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(verifySigV4(asIncoming(url, 'POST', headers), Buffer.from('{}'), 'ecr', lookup(secret)).ok).toBe(false);
  });
});

describe('jsonErrorCode: the code as the SDK reads it', () => {
  test('header first, namespace and URL parts dropped', () => {
    expect(jsonErrorCode({ 'x-amzn-errortype': 'AccessDeniedException:http://internal.amazon.com/' }, {})).toBe(
      'AccessDeniedException',
    );
    expect(jsonErrorCode({}, { __type: 'com.amazonaws.ecr#RepositoryNotFoundException' })).toBe(
      'RepositoryNotFoundException',
    );
    expect(jsonErrorCode({}, { code: 'ThrottlingException' })).toBe('ThrottlingException');
    expect(jsonErrorCode({}, {})).toBe('');
  });
});
