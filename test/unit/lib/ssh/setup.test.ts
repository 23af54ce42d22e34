// How git uses the key: GIT_SSH_COMMAND, quoted for the shell git runs it through.
import { gitSshCommand } from '../../../../src/lib/ssh/setup';

test('GIT_SSH_COMMAND quotes paths for the shell git runs it through', () => {
  expect(gitSshCommand('/tmp/a b/id', "/tmp/it's/kh")).toBe(
    `ssh -i '/tmp/a b/id' -o IdentitiesOnly=yes -o UserKnownHostsFile='/tmp/it'\\''s/kh' -o StrictHostKeyChecking=yes`,
  );
});
