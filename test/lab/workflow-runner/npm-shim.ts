import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../helpers/cli.ts';

/** The options of `npm ci` that change nothing the lab's link gives (npm docs, `npm ci`: audit, fund, scripts). */
const HARMLESS_CI_OPTIONS = ['--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'];

/**
 * The lab's `npm`, first on PATH for `run:` steps, because the lab downloads nothing: `npm ci` in a directory whose
 * package-lock.json is this project's byte for byte links this project's node_modules there (what `npm ci` would
 * install from that lock file, already installed, its install scripts already run); anything else fails loudly,
 * naming what the lab cannot do. The check is `cmp`, so a lock file one byte off is refused.
 */
export function npmShimScript(projectRoot = PROJECT_ROOT): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/usr/bin/env bash
# The Ottr lab's npm (test/lab/workflow-runner/npm-shim.ts): \`npm ci\` without network.
set -euo pipefail
project=${q(projectRoot)}
if [ "\${1:-}" != ci ]; then
  echo "lab npm: the lab runs \\\`npm ci\\\` only and downloads nothing; refused: npm $*" >&2
  exit 1
fi
shift
for option in "$@"; do
  case "$option" in
    ${HARMLESS_CI_OPTIONS.join('|')}) ;;
    *) echo "lab npm: npm ci $option is not something the lab can honour (it links the project's node_modules)" >&2; exit 1 ;;
  esac
done
if [ ! -f package-lock.json ]; then
  echo "npm error The \\\`npm ci\\\` command can only install with an existing package-lock.json or" >&2
  echo "npm error npm-shrinkwrap.json with lockfileVersion >= 1." >&2
  exit 1
fi
if ! cmp -s package-lock.json "$project/package-lock.json"; then
  echo "lab npm: $PWD/package-lock.json is not the lab project's package-lock.json byte for byte;" >&2
  echo "lab npm: the lab installs nothing from the network, so this npm ci cannot run here" >&2
  exit 1
fi
rm -rf node_modules
ln -s "$project/node_modules" node_modules
echo "lab npm: package-lock.json is the project's: linked $project/node_modules (nothing downloaded)"
`;
}

/** Writes the lab's npm into `<dir>/npm` (executable) and returns `dir`, to put in front of PATH. */
export function installNpmShim(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'npm');
  writeFileSync(file, npmShimScript());
  chmodSync(file, 0o755);
  return dir;
}
