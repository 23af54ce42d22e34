// Registry authentication: WWW-Authenticate challenges and token scopes.
import { mergeScopes, parseChallenge, scopesCover } from '../../../../src/lib/registry/auth';

describe('challenges and scopes', () => {
  test('parses Bearer and Basic challenges, quoted commas included', () => {
    expect(parseChallenge('Bearer realm="https://a/token",service="r",scope="repository:x:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://a/token', service: 'r', scope: 'repository:x:pull,push' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });

  test('scopes merge per resource and cover checks actions', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull'])).toEqual([
      'repository:a:pull,push',
      'repository:b:pull',
    ]);
    expect(scopesCover(['repository:a:pull,push'], ['repository:a:pull'])).toBe(true);
    expect(scopesCover(['repository:a:pull'], ['repository:a:push'])).toBe(false);
    expect(scopesCover(['repository:a:pull'], ['repository:b:pull'])).toBe(false);
  });
});
