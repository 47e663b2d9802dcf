import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../src/platforms/shared/shell.ts';

describe('shellQuote', () => {
  it.each([
    'plain',
    "it's",
    'a b',
    '$(id)',
    '`id`',
    '; rm -rf /',
    '"q"',
    '\\\\',
    'new\nline',
    '*.example.com',
    "'",
  ])('passes %j through sh unchanged', (value) => {
    const out = execFileSync('sh', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' });
    expect(out).toBe(value);
  });

  it('refuses NUL bytes and builds whole command lines', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
    expect(shellCommand('openssl', 'req', "-subj=/CN=a'b")).toBe(`openssl 'req' '-subj=/CN=a'\\''b'`);
  });
});
