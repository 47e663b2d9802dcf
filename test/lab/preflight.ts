import { existsSync } from 'node:fs';

/** The Debian packages the lab runs, and a file each one installs. */
export const LAB_PACKAGES: readonly { pkg: string; path: string }[] = [
  { pkg: 'pebble', path: '/usr/bin/pebble' },
  { pkg: 'openssh-server', path: '/usr/sbin/sshd' },
  { pkg: 'nginx', path: '/usr/sbin/nginx' },
  { pkg: 'git', path: '/usr/bin/git' },
];

/** The lab's Debian packages that are not installed. */
export function missingPackages(exists: (path: string) => boolean = existsSync): string[] {
  return LAB_PACKAGES.filter((p) => !exists(p.path)).map((p) => p.pkg);
}

/** What to tell someone whose machine lacks them: the packages by name and the command that installs them. */
export function installAdvice(missing: readonly string[]): string {
  return (
    `The lab needs Debian package(s) that are not installed: ${missing.join(', ')}\n` +
    `Install them with:  sudo apt-get install -y ${missing.join(' ')}\n`
  );
}
