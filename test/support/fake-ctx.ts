// A step context for unit tests of main/post pieces: inputs, env, workspace and temp dir
// as given, state slots in memory (seeded like a state file another process wrote), and
// the log captured. No runtime, no platform files.
import type { Ctx, Json, StateSlot } from '../../src/runtime/define';

export interface FakeCtx<I> {
  ctx: Ctx<I>;
  logs: string[];
  warnings: string[];
  state: Map<string, Json>;
}

export function fakeCtx<I>(o: {
  inputs?: Partial<I>;
  env?: Record<string, string>;
  workspace?: string;
  tempDir: string;
  state?: Record<string, Json>;
}): FakeCtx<I> {
  const logs: string[] = [];
  const warnings: string[] = [];
  const state = new Map<string, Json>(Object.entries(o.state ?? {}));
  const slot = <T extends Json>(name: string): StateSlot<T> => ({
    get: () => state.get(name) as T | undefined,
    set: (v) => void state.set(name, v),
    clear: () => void state.delete(name),
  });
  const ctx = {
    inputs: (o.inputs ?? {}) as I,
    platform: 'cli',
    env: o.env ?? {},
    workspace: o.workspace ?? o.tempDir,
    tempDir: o.tempDir,
    log: {
      info: (m: string) => void logs.push(m),
      debug: () => undefined,
      warn: (m: string) => void (warnings.push(m), logs.push(m)),
      error: (m: string) => void logs.push(m),
      group: <T>(_t: string, fn: () => Promise<T>) => fn(),
    },
    setOutput: () => undefined,
    exportVariable: () => undefined,
    secret: () => undefined,
    state: slot,
    lazy: () => Promise.reject(new Error('no lazy bundle in a fake ctx')),
    summary: () => undefined,
  } as unknown as Ctx<I>;
  return { ctx, logs, warnings, state };
}
