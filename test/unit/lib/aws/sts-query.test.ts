// AssumeRoleWithWebIdentity without the SDK: STS endpoints and the XML answer.
import { stsEndpoint, xmlText } from '../../../../src/lib/aws/sts-query';

test('endpoints per partition, XML text with entities', () => {
  expect(stsEndpoint('eu-west-1')).toBe('https://sts.eu-west-1.amazonaws.com');
  expect(stsEndpoint('cn-north-1')).toBe('https://sts.cn-north-1.amazonaws.com.cn');
  expect(stsEndpoint('us-gov-west-1')).toBe('https://sts.us-gov-west-1.amazonaws.com');
  const xml = '<R><Credentials><SessionToken>a&amp;b&#x2F;c&#61;</SessionToken></Credentials><Code>X</Code></R>';
  expect(xmlText(xml, 'SessionToken')).toBe('a&b/c=');
  expect(xmlText(xml, 'Missing')).toBeUndefined();
});
