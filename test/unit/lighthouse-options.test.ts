import { describe, expect, it } from 'vitest';
import { lighthouse } from '../../src/platforms/lighthouse/index.ts';
import { OptionsError } from '../../src/platforms/manifest.ts';

describe('lighthouse route options', () => {
  it('has no SAN field by default (REST v3.7 documents none) and no subject fields', () => {
    expect(lighthouse.options.parse(undefined)).toEqual({
      sanField: undefined,
      subject: {},
      restartTimeoutMs: 180_000,
    });
  });

  it('takes the subject fields by the RAML names and refuses any other spelling', () => {
    expect(lighthouse.options.parse({ subject: { org_unit: 'NetOps', country: 'NL' } }).subject).toEqual({
      org_unit: 'NetOps',
      country: 'NL',
    });
    expect(() => lighthouse.options.parse({ subject: { organization_unit: 'NetOps' } })).toThrow(
      OptionsError,
    );
    expect(() => lighthouse.options.parse({ subject: { organization_unit: 'NetOps' } })).toThrow(
      /subject\.organization_unit is not a subject field of REST v3\.7/,
    );
    expect(() => lighthouse.options.parse({ subject: { country: 'Netherlands' } })).toThrow(/two-letter/);
  });
});
