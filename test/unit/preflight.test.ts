import { describe, expect, it } from 'vitest';
import { installAdvice, LAB_PACKAGES, missingPackages } from '../lab/preflight.ts';

describe("the demo's check for the lab's Debian packages", () => {
  it('names each missing package with the command that installs it', () => {
    const missing = missingPackages((path) => path !== '/usr/bin/pebble' && path !== '/usr/sbin/nginx');
    expect(missing).toEqual(['pebble', 'nginx']);
    expect(installAdvice(missing)).toBe(
      'The lab needs Debian package(s) that are not installed: pebble, nginx\n' +
        'Install them with:  sudo apt-get install -y pebble nginx\n',
    );
  });

  it('finds nothing missing on this machine, where the tests run the lab', () => {
    expect(missingPackages()).toEqual([]);
    expect(LAB_PACKAGES.map((p) => p.pkg)).toEqual(['pebble', 'openssh-server', 'nginx', 'git']);
  });
});
