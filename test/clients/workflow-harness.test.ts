// The workflow harness runs a job as GitHub's runner would: expressions, GITHUB_ENV,
// step outputs, `if:` after failures, and shipline's actions from this checkout.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/exec';
import { evaluate, runWorkflowJob } from '../support/workflow';

const fixture = path.join(repoRoot, 'test/fixtures/workflows/image-tags.yml');

/** `shipline/shipline/components/<step>@<ref>` → this checkout's components/<step>; checkout is a no-op. */
export function localShipline(uses: string) {
  if (uses.startsWith('actions/checkout@')) return { skip: true as const };
  const m = /^shipline\/shipline(?:\/(components\/[\w-]+))?@[\w.-]+$/.exec(uses);
  if (!m) throw new Error(`not resolvable here: ${uses}`);
  return { actionDir: path.join(repoRoot, m[1] ?? '') };
}

test('expressions: contexts, operators and functions', () => {
  const ctx = { github: { event_name: 'push', ref: 'refs/tags/v1.2.3' }, steps: { a: { outputs: { x: 'one\ntwo' } } } };
  const s = { failed: false };
  expect(evaluate("github.event_name == 'PUSH'", ctx, s)).toBe(true);
  expect(evaluate("startsWith(github.ref, 'refs/tags/') && 'tag' || 'branch'", ctx, s)).toBe('tag');
  expect(evaluate("contains(steps.a.outputs.x, 'two')", ctx, s)).toBe(true);
  expect(evaluate("format('{0}-{1}', 'a', steps.a.outputs.missing)", ctx, s)).toBe('a-');
  expect(evaluate('!success() || failure()', ctx, { failed: true })).toBe(true);
  expect(() => evaluate('github.*.x', ctx, s)).toThrow(/not understood/);
});

test('a job with image-tags: outputs through expressions, GITHUB_ENV, if: after a failure', async () => {
  const r = await runWorkflowJob({
    workflow: fixture,
    job: 'build',
    resolveUses: localShipline,
    env: { GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567' },
  });
  try {
    const byName = Object.fromEntries(r.steps.map((s) => [s.name, s]));
    expect(byName['shipline/shipline/components/image-tags@0123456789abcdef0123456789abcdef01234567']!.exitCode).toBe(
      0,
    );
    expect(r.steps.find((s) => s.id === 'meta')!.outputs.tags).toBe(
      'registry.example.com/team/app:01234567\nregistry.example.com/team/app:latest',
    );
    expect(fs.readFileSync(path.join(r.workspace, 'tags.txt'), 'utf8')).toBe(
      'registry.example.com/team/app:01234567\nregistry.example.com/team/app:latest\n',
    );
    expect(byName['later steps see GITHUB_ENV']!.exitCode).toBe(0);
    expect(byName['a failing step']!.exitCode).toBe(3);
    expect(byName['skipped after a failure']!.kind).toBe('skipped');
    expect(fs.existsSync(path.join(r.workspace, 'never.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(r.workspace, 'status.txt'), 'utf8')).toBe('failure\n');
    expect(r.env.FROM_STEP).toBe('2');
    expect(r.ok).toBe(false);
  } finally {
    r.cleanup();
  }
});
