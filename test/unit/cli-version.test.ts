import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitHead, versionText } from '../../src/cli/version.ts';
import { PROJECT_ROOT, runCli } from '../helpers/cli.ts';

const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const dirs: string[] = [];
function checkout(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'ottr-git-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** HEAD as git itself reads it, when git is installed and this is a checkout. */
function gitRevParse(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

describe('ottr --version / ottr version', () => {
  it('prints the package version and says the sources run when not bundled', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`ottr ${version}`);
    expect(run.stdout).toContain('bundle: none (running the TypeScript sources)');
    expect(run.stdout).toContain(`node: ${process.version}`);
    expect((await runCli(['version'])).stdout).toBe(run.stdout);
    expect((await runCli(['-V'])).stdout).toBe(run.stdout);
  });

  it('names the commit of the checkout it runs from, as git does', async () => {
    const head = gitRevParse();
    const run = await runCli(['version']);
    if (head) expect(run.stdout).toContain(`commit: ${head}\n`);
    else expect(run.stdout).not.toContain('commit:');
  });

  it('the compiled CLI prints the bundle identifier the build gave it', () => {
    const run = spawnSync(process.execPath, ['bin/ottr.js', '--version'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`ottr ${version}`);
    const bundle = /^bundle: ([0-9a-f]{16})$/m.exec(run.stdout)?.[1];
    expect(bundle).toBeDefined();
    // The identifier is in the entry's build-time constant, nowhere else: the build put it there.
    const chunks = execFileSync('grep', ['-rl', bundle!, join(PROJECT_ROOT, 'dist/cli')], {
      encoding: 'utf8',
    });
    expect(chunks.trim().split('\n').length).toBe(1);
  });

  it('takes no arguments, and --help explains what it prints', async () => {
    const extra = await runCli(['version', 'now']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('takes no arguments');
    const help = await runCli(['version', '--help']);
    expect(help.stdout).toMatch(/bundle: HASH/);
    expect(help.stdout).toMatch(/cannot contain the commit it is committed in/);
  });

  it('formats what it knows, and leaves out the commit when there is none', () => {
    const text = versionText({ version: '1.2.3', bundle: 'abc', commit: undefined, node: 'v24.0.0' });
    expect(text).toBe('ottr 1.2.3\nbundle: abc\nnode: v24.0.0');
  });
});

describe('gitHead reads .git without running git', () => {
  it('follows a branch to its loose ref', () => {
    const root = checkout({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${A}\n` });
    expect(gitHead(root)).toBe(A);
  });

  it('finds a packed ref', () => {
    const root = checkout({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/packed-refs': `# pack-refs with: peeled fully-peeled sorted\n${B} refs/heads/other\n${A} refs/heads/main\n`,
    });
    expect(gitHead(root)).toBe(A);
  });

  it('reads a detached HEAD (actions/checkout of a commit)', () => {
    expect(gitHead(checkout({ '.git/HEAD': `${B}\n` }))).toBe(B);
  });

  it('follows a .git file to a worktree and its common directory', () => {
    const root = checkout({
      'main/.git/refs/heads/feature': `${A}\n`,
      'main/.git/worktrees/wt/HEAD': 'ref: refs/heads/feature\n',
      'main/.git/worktrees/wt/commondir': '../..\n',
      'wt/.git': 'gitdir: ../main/.git/worktrees/wt\n',
    });
    expect(gitHead(join(root, 'wt'))).toBe(A);
  });

  it('has no commit outside a checkout or for an unknown ref', () => {
    expect(gitHead(checkout({ 'README.md': 'x' }))).toBeUndefined();
    expect(gitHead(checkout({ '.git/HEAD': 'ref: refs/heads/gone\n' }))).toBeUndefined();
  });
});
