import { describe, expect, it } from 'vitest';
import { dnsNameProblem, ipAddressProblem } from '../../src/model/dns-name.ts';

describe('dnsNameProblem', () => {
  it.each([
    'example.com',
    'fw-01.mgmt.example.com',
    '*.example.com',
    'xn--bcher-kva.example',
    `${'a'.repeat(63)}.example.com`,
    `${Array(4).fill('a'.repeat(61)).join('.')}.com`, // 4*62 + 3 = 251 characters
  ])('accepts %s', (name) => {
    expect(dnsNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['localhost', /at least two labels/],
    ['Example.com', /lowercase/],
    ['example.com.', /dot/],
    ['a..example.com', /empty label/],
    ['-a.example.com', /letters, digits and inner hyphens/],
    ['a-.example.com', /inner hyphens/],
    ['a_b.example.com', /letters, digits/],
    ['www.*.example.com', /wildcard only as the whole leftmost/],
    ['w*.example.com', /partial wildcard/],
    ['*.com', /two labels after/],
    [`${'a'.repeat(64)}.example.com`, /at most 63/],
    [`${Array(5).fill('a'.repeat(50)).join('.')}.com`, /at most 253/],
    ['10.0.0.1', /IP address/],
    ['::1', /IP address/],
    ['host.123', /all-numeric/],
  ])('rejects %j', (name, message) => {
    expect(dnsNameProblem(name)).toMatch(message);
  });
});

describe('ipAddressProblem', () => {
  it('accepts IPv4 and IPv6 and rejects the rest', () => {
    expect(ipAddressProblem('192.0.2.1')).toBeUndefined();
    expect(ipAddressProblem('2001:db8::1')).toBeUndefined();
    expect(ipAddressProblem('256.0.0.1')).toMatch(/not a valid/);
    expect(ipAddressProblem('fw1.example.com')).toMatch(/not a valid/);
  });
});
