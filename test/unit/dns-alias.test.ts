import { describe, expect, it } from 'vitest';
import { aliasTarget, challengeCnames, challengeName, MAX_DNS01_NAME } from '../../src/dns/alias.ts';

describe('challenge alias naming', () => {
  it('puts the TXT record at <name>.<delegate_zone> and the CNAME at _acme-challenge.<name>', () => {
    expect(challengeName('fw.example.com')).toBe('_acme-challenge.fw.example.com');
    expect(aliasTarget('fw.example.com', 'acme.example.net')).toBe('fw.example.com.acme.example.net');
    expect(aliasTarget('fw.example.com', 'acme.example.net.')).toBe('fw.example.com.acme.example.net');
  });

  it('validates a wildcard at its base name, sharing the record with the apex', () => {
    expect(challengeName('*.app.example.com')).toBe('_acme-challenge.app.example.com');
    expect(aliasTarget('*.app.example.com', 'd.example.net')).toBe(
      aliasTarget('app.example.com', 'd.example.net'),
    );
    expect(challengeCnames(['*.app.example.com', 'app.example.com'], 'd.example.net')).toEqual([
      { name: '_acme-challenge.app.example.com', target: 'app.example.com.d.example.net' },
    ]);
  });

  it('uses a hashed label when the target would pass 253 characters, deterministically', () => {
    const long = `${Array(3).fill('a'.repeat(63)).join('.')}.example.com`; // 203 characters
    const zone = 'acme-delegate.some-long-organisation-name.example.net';
    const target = aliasTarget(long, zone);
    expect(target).toMatch(/^[0-9a-f]{32}\.acme-delegate\.some-long-organisation-name\.example\.net$/);
    expect(aliasTarget(long, zone)).toBe(target);
    expect(aliasTarget(long.replace(/^a/, 'b'), zone)).not.toBe(target);
    expect(target.length).toBeLessThanOrEqual(253);
  });

  it('knows the longest name DNS-01 can validate', () => {
    expect(MAX_DNS01_NAME).toBe(237);
    expect(challengeName('x'.repeat(MAX_DNS01_NAME)).length).toBe(253);
  });
});
