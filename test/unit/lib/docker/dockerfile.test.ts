import { parseStages, checkTarget } from '../../../../src/lib/docker/dockerfile';

describe('Dockerfile stages', () => {
  const text = [
    '# syntax=docker/dockerfile:1',
    'ARG BASE=busybox',
    'FROM $BASE AS Build',
    'RUN echo \\',
    '  hi',
    'FROM --platform=$BUILDPLATFORM build as smoke-test',
    'FROM scratch',
    '',
  ].join('\n');
  test('names, order, lines', () => {
    expect(parseStages(text).map((s) => [s.name, s.index, s.line])).toEqual([
      ['build', 0, 3],
      ['smoke-test', 1, 6],
      [undefined, 2, 7],
    ]);
  });
  test('unknown target lists the stages', () => {
    expect(() => checkTarget(parseStages(text), 'tests', 'Dockerfile')).toThrow(/stage 'tests' is not in Dockerfile/);
    try {
      checkTarget(parseStages(text), 'tests', 'Dockerfile');
    } catch (e) {
      expect((e as { hint: string }).hint).toBe('stages there: build, smoke-test, #2 (unnamed)');
      expect((e as { data: unknown }).data).toEqual({
        target: 'tests',
        path: 'Dockerfile',
        stages: ['build', 'smoke-test', '#2 (unnamed)'],
      });
    }
    expect(() => checkTarget(parseStages(text), 'SMOKE-TEST', 'Dockerfile')).not.toThrow();
  });
});
