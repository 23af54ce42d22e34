// build-push's declaration: the inputs and outputs the issue asks for, TAG_INPUTS reused.
import step from '../../../../src/steps/build-push/index';

describe('declaration', () => {
  test("the issue's inputs and outputs exist, TAG_INPUTS reused", () => {
    for (const name of [
      'context',
      'file',
      'target',
      'build-args',
      'images',
      'tags',
      'push',
      'pull',
      'cache-from',
      'cache-to',
      'platforms',
      'builder',
      'smoke-target',
      'extract',
      'labels',
      'refs',
    ]) {
      expect(step.inputs).toHaveProperty([name]);
    }
    expect(Object.keys(step.outputs)).toEqual(['digest', 'image-id', 'tags', 'metadata']);
    expect(step.inputs['build-args'].lines).toBe(true);
    expect(step.inputs.password.secret).toBe(true);
    expect(step.inputs.images.gitlabDefault).toBe('$CI_REGISTRY_IMAGE');
  });
});
