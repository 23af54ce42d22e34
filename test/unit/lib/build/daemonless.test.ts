// What a daemonless build pulls: the base images of a Dockerfile.
import { baseImages } from '../../../../src/lib/build/daemonless';
import { parseStages } from '../../../../src/lib/docker/dockerfile';

describe('base images', () => {
  test('base images: stage names, scratch and unresolved variables are not pulled', () => {
    const stages = parseStages(
      'ARG BASE=x\nFROM ${BASE} AS a\nFROM a AS b\nFROM scratch\nFROM harbor.example.com/base/py:3 AS c\nFROM $OTHER\n',
    );
    expect(baseImages(stages, ['BASE=127.0.0.1:5001/base/busybox:1'])).toEqual([
      '127.0.0.1:5001/base/busybox:1',
      'harbor.example.com/base/py:3',
    ]);
  });
});
