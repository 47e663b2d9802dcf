import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Set by scripts/build-cli.mjs in the bundle: the package version and a hash of the bundle's own code. A
 * committed bundle cannot name the commit it is committed in, so the hash identifies the build; the commit
 * is read from the git checkout the code runs from, when there is one.
 */
declare const __OTTR_BUILD__: { version: string; bundle: string } | undefined;

export interface VersionInfo {
  version: string;
  /** Hash of the bundled code, or undefined when running the TypeScript sources. */
  bundle: string | undefined;
  /** HEAD of the git checkout holding the running code, when there is one. */
  commit: string | undefined;
  node: string;
}

function packageRoot(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ottr-gitops')
          return dir;
      } catch {
        // not ours; keep looking upwards
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The git directory of a checkout: `.git` itself, or where a `.git` file (worktree, submodule) points. */
function gitDirOf(root: string): string | undefined {
  const dotGit = join(root, '.git');
  if (!existsSync(dotGit)) return undefined;
  if (statSync(dotGit).isDirectory()) return dotGit;
  const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
  return pointer ? resolve(root, pointer) : undefined;
}

/** HEAD as a commit hash, reading .git directly (no git binary needed, nothing spawned). */
export function gitHead(root: string): string | undefined {
  try {
    const gitDir = gitDirOf(root);
    if (!gitDir) return undefined;
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
    if (!ref) return /^[0-9a-f]{40,64}$/.test(head) ? head : undefined;
    const commonFile = join(gitDir, 'commondir');
    const common = existsSync(commonFile) ? resolve(gitDir, readFileSync(commonFile, 'utf8').trim()) : gitDir;
    for (const dir of [gitDir, common]) {
      const loose = join(dir, ref);
      if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    }
    const packed = join(common, 'packed-refs');
    if (!existsSync(packed)) return undefined;
    for (const line of readFileSync(packed, 'utf8').split('\n')) {
      const [hash, name] = line.split(' ');
      if (name === ref && hash) return hash;
    }
  } catch {
    // an unreadable checkout just has no commit to show
  }
  return undefined;
}

export function versionInfo(): VersionInfo {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = packageRoot(here);
  const built = typeof __OTTR_BUILD__ === 'undefined' ? undefined : __OTTR_BUILD__;
  let version = built?.version;
  if (!version && root) {
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  }
  return {
    version: version ?? 'unknown',
    bundle: built?.bundle,
    commit: root ? gitHead(root) : undefined,
    node: process.version,
  };
}

export const VERSION_HELP = `Usage: ottr version      (or ottr --version)

Prints the version of ottr and where the running code comes from:
  ottr VERSION           the package version (package.json)
  bundle: HASH           the build of dist/cli that runs: a hash of its code, set by npm run build:cli
                         (a committed bundle cannot contain the commit it is committed in); "none" when
                         the TypeScript sources run directly
  commit: SHA            HEAD of the git checkout the code runs from, when it runs from one
  node: VERSION          the Node.js that runs it`;

export function versionText(info: VersionInfo = versionInfo()): string {
  return [
    `ottr ${info.version}`,
    `bundle: ${info.bundle ?? 'none (running the TypeScript sources)'}`,
    ...(info.commit ? [`commit: ${info.commit}`] : []),
    `node: ${info.node}`,
  ].join('\n');
}
