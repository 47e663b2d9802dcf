import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeRepo } from './cli.ts';

/** Runs git in `cwd` as a lab identity; returns stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Lab', '-c', 'user.email=lab@example.test', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A bare repository in `dir` (standing in for GitHub's copy) seeded with the sample repository on `main`. */
export function sampleRemote(dir: string): string {
  const bare = join(dir, 'remote.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  const seed = makeRepo({ withSampleInventory: true });
  git(seed.root, 'init', '--quiet', '--initial-branch=main');
  git(seed.root, 'add', '.');
  git(seed.root, 'commit', '--quiet', '-m', 'seed');
  git(seed.root, 'push', '--quiet', bare, 'main');
  seed.cleanup();
  return bare;
}
