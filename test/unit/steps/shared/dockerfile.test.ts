// What the build steps read from a Dockerfile besides its stages: the escape directive, the
// global ARG defaults a FROM line uses (passed to buildah explicitly), and the text with one
// LABEL instruction at the end of the stage that is built.
import fs from 'node:fs';
import path from 'node:path';
import { parseStages } from '../../../../src/lib/docker/dockerfile';
import { escapeChar, expandWord, globalArgDefaults, labelledDockerfile } from '../../../../src/steps/shared/dockerfile';

const repo = path.join(__dirname, '..', '..', '..', '..');
const SEED_C = fs.readFileSync(path.join(repo, 'examples', 'seed-c', 'Dockerfile'), 'utf8');
const APP = fs.readFileSync(path.join(repo, 'examples', 'app', 'Dockerfile'), 'utf8');

describe('escapeChar', () => {
  test('the escape directive at the top, else a backslash', () => {
    expect(escapeChar('FROM x\n')).toBe('\\');
    expect(escapeChar('# escape=`\nFROM x\n')).toBe('`');
    expect(escapeChar('# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n')).toBe('`');
    // not a directive once an instruction came
    expect(escapeChar('FROM x\n# escape=`\n')).toBe('\\');
  });
});

describe('expandWord', () => {
  const vars = new Map([
    ['A', 'alpha'],
    ['E', ''],
  ]);
  test.each([
    ['plain', 'plain'],
    ['"x y"', 'x y'],
    ["'$A'", '$A'],
    ['$A', 'alpha'],
    ['${A}-1', 'alpha-1'],
    ['"${A} b"', 'alpha b'],
    ['${E:-dflt}', 'dflt'],
    ['${A:-dflt}', 'alpha'],
    ['${A:+set}', 'set'],
    ['${E:+set}', ''],
    ['$UNSET', ''],
    ['a\\$A', 'a$A'],
    ['"q\\"q"', 'q"q'],
    ['pkg-${A}', 'pkg-alpha'],
  ])('%s -> %s', (word, out) => expect(expandWord(word, vars)).toBe(out));

  test.each(['"open', "'open", '${A', '${A:?err}', '${A/x/y}', 'a\\'])('%s: a form it does not know', (word) =>
    expect(expandWord(word, vars)).toBeUndefined(),
  );
});

describe('globalArgDefaults', () => {
  test("the seed's own pattern: PKG_VERSIONS (and BASE_IMAGE) used in FROM, passed when not given", () => {
    expect(globalArgDefaults(SEED_C, [])).toEqual({
      args: ['BASE_IMAGE=debian:bookworm-slim', 'PKG_VERSIONS=pinned'],
      skipped: [],
    });
    expect(globalArgDefaults(SEED_C, ['BASE_IMAGE=127.0.0.1:5001/x/debian:bookworm'])).toEqual({
      args: ['PKG_VERSIONS=pinned'],
      skipped: [],
    });
    // what the user gives wins, bare NAME lines included
    expect(globalArgDefaults(APP, ['PKG_VERSIONS=refresh', 'BASE_IMAGE']).args).toEqual([]);
  });

  test('defaults from earlier ARGs (the user’s value first), several per line, quotes, continuations', () => {
    const text = [
      'ARG REG=registry.example.com A="x y" \\',
      '    UNUSED=1',
      'ARG IMG=${REG}/team/base',
      'ARG PLAT=linux/amd64',
      'FROM --platform=$PLAT ${IMG}:1 AS one',
      'FROM one',
      '',
    ].join('\n');
    expect(globalArgDefaults(text, []).args).toEqual(['IMG=registry.example.com/team/base', 'PLAT=linux/amd64']);
    expect(globalArgDefaults(text, ['REG=127.0.0.1:5001']).args).toEqual([
      'IMG=127.0.0.1:5001/team/base',
      'PLAT=linux/amd64',
    ]);
    // a bare NAME takes the job variable's value
    expect(globalArgDefaults(text, ['REG'], { REG: 'r.local' }).args[0]).toBe('IMG=r.local/team/base');
  });

  test('an ARG a stage declares again with its own default is left alone (passing it would override that)', () => {
    const text = 'ARG V=1\nFROM base-$V\nARG V=2\nRUN echo $V\n';
    expect(globalArgDefaults(text, [])).toEqual({ args: [], skipped: ['V (a stage declares its own default)'] });
    // without a default of its own the stage inherits the global one: passing it is the same
    expect(globalArgDefaults('ARG V=1\nFROM base-$V\nARG V\n', []).args).toEqual(['V=1']);
  });

  test('an ARG without default, none before FROM, or a default it cannot read: nothing passed', () => {
    expect(globalArgDefaults('ARG B\nFROM $B\n', []).args).toEqual([]);
    expect(globalArgDefaults('FROM busybox\nARG X=1\n', []).args).toEqual([]);
    expect(globalArgDefaults('ARG B=${X:?unset}\nFROM $B\n', [])).toEqual({
      args: [],
      skipped: ['B (its default is a form shipline does not expand)'],
    });
  });
});

describe('labelledDockerfile', () => {
  const labels = { 'org.opencontainers.image.version': '1.2.3', 'team.note': 'say "hi" to $USER \\o/' };

  test('one LABEL at the end of the target stage, before the next FROM; values quoted and escaped', () => {
    const stages = parseStages(APP);
    const l = labelledDockerfile(APP, stages, 'smoke-test', labels);
    expect(l.instruction).toBe(
      'LABEL "org.opencontainers.image.version"="1.2.3" "team.note"="say \\"hi\\" to \\$USER \\\\o/"',
    );
    const lines = l.text.split('\n');
    const at = lines.indexOf(l.instruction);
    expect(lines[at + 1]).toBe('FROM pkg AS target-image');
    expect(lines.slice(at - 2, at)).toEqual(['RUN sh ./app.sh --self-test', '']);
    // everything else unchanged
    expect([...lines.slice(0, at), ...lines.slice(at + 1)].join('\n')).toBe(APP);
    expect(l.rest).toEqual({});
  });

  test('no target: appended after the last stage; a value with a line break stays a --label', () => {
    const text = 'FROM busybox\nRUN true';
    const l = labelledDockerfile(text, parseStages(text), undefined, { a: '1', multi: 'x\ny' });
    expect(l.text).toBe('FROM busybox\nRUN true\nLABEL "a"="1"\n');
    expect(l.rest).toEqual({ multi: 'x\ny' });
    expect(labelledDockerfile(text, parseStages(text), undefined, {}).text).toBe(text);
  });

  test('CRLF files and the backtick escape directive', () => {
    const text = '# escape=`\r\nFROM busybox AS a\r\nRUN echo `\r\n  hi\r\nFROM a AS b\r\n';
    const l = labelledDockerfile(text, parseStages(text), 'a', { k: 'a"$`b' });
    expect(l.text).toBe(
      '# escape=`\r\nFROM busybox AS a\r\nRUN echo `\r\n  hi\r\nLABEL "k"="a`"`$``b"\r\nFROM a AS b\r\n',
    );
  });
});
