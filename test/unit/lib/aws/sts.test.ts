// The AssumeRole Query form: optional fields only when given, tags as member.N lists.
import { assumeRoleForm } from '../../../../src/lib/aws/sts';

test('AssumeRole form with external id, tags and transitive keys', () => {
  const form = assumeRoleForm({
    roleArn: 'arn:aws:iam::123456789012:role/deploy',
    sessionName: 'shipline-ci-1',
    durationSeconds: 900,
    externalId: 'ext',
    tags: [
      { Key: 'CI', Value: 'github' },
      { Key: 'Ref', Value: 'feature/a b' },
    ],
    transitiveTagKeys: ['CI'],
  });
  expect(Object.fromEntries(form)).toEqual({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: 'arn:aws:iam::123456789012:role/deploy',
    RoleSessionName: 'shipline-ci-1',
    DurationSeconds: '900',
    ExternalId: 'ext',
    'Tags.member.1.Key': 'CI',
    'Tags.member.1.Value': 'github',
    'Tags.member.2.Key': 'Ref',
    'Tags.member.2.Value': 'feature/a b',
    'TransitiveTagKeys.member.1': 'CI',
  });
  expect(
    Object.keys(Object.fromEntries(assumeRoleForm({ roleArn: 'arn', sessionName: 'sn', durationSeconds: 3600 }))),
  ).toEqual(['Action', 'Version', 'RoleArn', 'RoleSessionName', 'DurationSeconds']);
});
