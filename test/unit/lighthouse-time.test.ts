import { describe, expect, it } from 'vitest';
import { parseOpenSslTime } from '../../src/platforms/lighthouse/client.ts';

describe('Lighthouse valid_from / valid_to in OpenSSL text form (the v3.7 RAML: "Sep 21 00:39:03 2016 GMT")', () => {
  it('reads the RAML example and the space-padded day OpenSSL prints', () => {
    expect(parseOpenSslTime('Sep 21 00:39:03 2016 GMT')?.toISOString()).toBe('2016-09-21T00:39:03.000Z');
    expect(parseOpenSslTime('Feb  1 23:05:59 2027 GMT')?.toISOString()).toBe('2027-02-01T23:05:59.000Z');
  });

  it('reads what X509Certificate.validFrom prints, which is the same form', () => {
    expect(parseOpenSslTime('Dec  2 05:14:19 2026 GMT')?.getTime()).toBe(Date.UTC(2026, 11, 2, 5, 14, 19));
  });

  it('answers undefined for anything else instead of guessing a time zone or a date order', () => {
    for (const text of [
      '',
      '2016-09-21T00:39:03Z',
      'Sep 21 00:39:03 2016',
      'Foo 21 00:39:03 2016 GMT',
      'Feb 30 00:00:00 2027 GMT',
    ])
      expect(parseOpenSslTime(text), text).toBeUndefined();
    expect(parseOpenSslTime(undefined)).toBeUndefined();
  });
});
