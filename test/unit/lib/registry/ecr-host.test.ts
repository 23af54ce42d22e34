// ECR registry host names.
import { parseEcrHost } from '../../../../src/lib/registry/ecr-host';

test('ECR host names give account and region', () => {
  expect(parseEcrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({
    account: '123456789012',
    region: 'eu-west-1',
  });
  expect(parseEcrHost('registry.example.com')).toBeUndefined();
});
