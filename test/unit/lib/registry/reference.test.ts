import { parseReference, normaliseRepository } from '../../../../src/lib/registry/reference';

describe('references', () => {
  test.each([
    ['registry.example.com/Team/App:v1', { registry: 'registry.example.com', repository: 'team/app', tag: 'v1' }],
    [
      'localhost:5000/app@sha256:' + 'a'.repeat(64),
      { registry: 'localhost:5000', repository: 'app', digest: 'sha256:' + 'a'.repeat(64) },
    ],
    ['busybox', { registry: 'docker.io', repository: 'library/busybox' }],
    ['127.0.0.1:5001/base/busybox:1', { registry: '127.0.0.1:5001', repository: 'base/busybox', tag: '1' }],
  ])('%s', (ref, want) => {
    expect(parseReference(ref)).toMatchObject(want);
  });
  test.each(['a b', 'reg.io/app:-bad', 'reg.io/app@sha256:xyz', 'reg.io/a//b', ''])('%j is rejected', (ref) => {
    expect(() => parseReference(ref)).toThrow();
  });
  test('images entries are repositories', () => {
    expect(normaliseRepository('Team/App')).toBe('team/app');
    expect(() => normaliseRepository('reg.io/app:1')).toThrow(/has a tag/);
  });
});
