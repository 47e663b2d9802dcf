import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../helpers/cli.ts';

/**
 * ci.yml runs .ci/run on ubuntu-latest, whose jobs run as the user `runner` (passwordless sudo), not root; our
 * own CI runs it as root. .ci/run is run here with stand-ins for id, dpkg, sudo, apt-get, mkdir and npm that
 * only log how they were called.
 */
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function runCiAs(uid: number): string[] {
  dir = mkdtempSync(join(tmpdir(), 'ottr-ci-run-'));
  const log = join(dir, 'calls.log');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  mkdirSync(join(dir, 'checkout/.ci'), { recursive: true });
  mkdirSync(join(dir, 'checkout/tmp'));
  copyFileSync(join(PROJECT_ROOT, '.ci/run'), join(dir, 'checkout/.ci/run'));
  writeFileSync(
    join(dir, 'checkout/tmp/vitest-report.json'),
    JSON.stringify({ numPassedTests: 1, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 }),
  );
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('id', `[ "$1" = -u ] && echo ${uid}`);
  stub('dpkg', 'exit 1'); // every package missing
  stub('sudo', `echo "sudo $*" >> "${log}"`);
  stub('apt-get', `echo "apt-get $* (DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-})" >> "${log}"`);
  stub('mkdir', `echo "mkdir $*" >> "${log}"`);
  stub('npm', `echo "npm $*" >> "${log}"`);
  const run = spawnSync('bash', [join(dir, 'checkout/.ci/run')], {
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toContain('1 passed, 0 failed, 0 skipped');
  return readFileSync(log, 'utf8').trim().split('\n');
}

describe('.ci/run as ci.yml runs it', () => {
  it('ci.yml runs .ci/run on a GitHub-hosted runner', () => {
    const ci = parse(readFileSync(join(PROJECT_ROOT, '.github/workflows/ci.yml'), 'utf8'));
    expect(ci.jobs.test['runs-on']).toBe('ubuntu-latest');
    expect(ci.jobs.test.steps.map((s: { run?: string }) => s.run).filter(Boolean)).toEqual(['bash .ci/run']);
  });

  it("as the runner's user: apt-get and the sshd directory through sudo, npm as the user", () => {
    const calls = runCiAs(1001);
    expect(calls).toEqual([
      'sudo apt-get update -qq',
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble openssh-server nginx chromium tinyproxy zsh fish',
      'sudo mkdir -p /run/sshd',
      'npm ci --no-audit --no-fund',
      'npm test',
    ]);
  });

  it('as root: apt-get and mkdir directly, never sudo', () => {
    const calls = runCiAs(0);
    expect(calls).toEqual([
      'apt-get update -qq (DEBIAN_FRONTEND=)',
      'apt-get install -y -qq pebble openssh-server nginx chromium tinyproxy zsh fish (DEBIAN_FRONTEND=noninteractive)',
      'mkdir -p /run/sshd',
      'npm ci --no-audit --no-fund',
      'npm test',
    ]);
  });
});
