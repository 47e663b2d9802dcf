import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LinuxOptions } from '../../src/platforms/shared/linux-options.ts';
import { linuxSteps } from '../../src/platforms/shared/linux-steps.ts';
import { shellQuote } from '../../src/platforms/shared/shell.ts';

/**
 * Names are strictly DNS-validated before they reach a driver, but the quoting must not depend on that: these
 * tests run what the command builders produce under a real `sh -c` with hostile values, and check both that no
 * payload ran (the file it would create, at an all-lowercase fixed path, does not exist) and that every value
 * arrived as one argument, byte for byte.
 */
const pwned = `/tmp/ottr-pwned-${randomBytes(8).toString('hex')}`;
const payloads = [
  `$(touch ${pwned})`,
  `\`touch ${pwned}\``,
  `a;touch ${pwned}`,
  `a && touch ${pwned}`,
  `a | touch ${pwned}`,
  `x.example.com'; touch ${pwned}; echo '`,
  `x.example.com"; touch ${pwned}; echo "`,
  `"$(touch ${pwned})"`,
  `'$(touch ${pwned})'`,
  `\\$(touch ${pwned})`,
  `a\ntouch ${pwned}`,
  "'",
  `''`,
  '"',
  '\\',
  '$HOME',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text a shell must not expand
  '${HOME}',
  '`id`',
  'a b  c',
  '*',
  '~',
  '!',
  '-n',
  '',
];

const dir = mkdtempSync(join(tmpdir(), 'ottr-quoting-'));
afterEach(() => rmSync(pwned, { force: true }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a script under sh -c; returns its standard output. */
const sh = (script: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileSync('sh', ['-c', script], { encoding: 'utf8', env });

describe('shellQuote with hostile strings', () => {
  it.each(payloads)('%j runs nothing and arrives byte-exact', (value) => {
    const out = sh(`printf '%s\\0' ${shellQuote(value)} ${shellQuote(`${value}tail`)}`);
    expect(existsSync(pwned)).toBe(false);
    expect(out.split('\0')).toEqual([value, `${value}tail`, '']);
  });

  it('all of them as one command line: still one argument each', () => {
    const out = sh(`printf '%s\\0' ${payloads.map(shellQuote).join(' ')}`);
    expect(existsSync(pwned)).toBe(false);
    expect(out.split('\0')).toEqual([...payloads, '']);
  });
});

describe('linuxSteps quote every name the shell sees', () => {
  // A stand-in openssl on PATH: genpkey creates its -out file, req prints every argument it received.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'openssl'),
    [
      '#!/bin/sh',
      'if [ "$1" = genpkey ]; then',
      '  while [ $# -gt 0 ]; do if [ "$1" = -out ]; then : > "$2"; fi; shift; done',
      '  exit 0',
      'fi',
      `for a in "$@"; do printf '%s\\0' "$a"; done`,
    ].join('\n'),
  );
  chmodSync(join(bin, 'openssl'), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const options: LinuxOptions = {
    certificate_path: join(dir, 'fullchain.pem'),
    key_path: join(dir, 'privkey.pem'),
    reload_command: 'true',
  };
  const request = (names: string[]) => ({ names, key: { type: 'ecdsa' as const }, rotationId: 'r1' });
  const csrArgs = (names: string[]) => [
    'req',
    '-new',
    '-key',
    `${options.key_path}.r1.new`,
    '-subj',
    `/CN=${names[0]}`,
    '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '',
  ];

  it.each(payloads.filter(Boolean))('a SAN %j runs nothing and reaches openssl byte-exact', (san) => {
    const names = ['web1.example.com', san, 'status.web1.example.com'];
    const out = sh(linuxSteps(options, request(names), false).csr, env);
    expect(existsSync(pwned)).toBe(false);
    expect(out.split('\0')).toEqual(csrArgs(names));
  });

  it('every hostile SAN at once, and a hostile common name, reach openssl byte-exact', () => {
    for (const names of [
      ['web1.example.com', ...payloads.filter(Boolean)],
      [`$(touch ${pwned})`, `\`touch ${pwned}\``, 'web1.example.com'],
    ]) {
      const out = sh(linuxSteps(options, request(names), false).csr, env);
      expect(existsSync(pwned)).toBe(false);
      expect(out.split('\0')).toEqual(csrArgs(names));
    }
  });
});
