import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePlainMapping } from '../../src/model/fast-yaml.ts';
import { deviceYaml } from '../bench/generate.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';

const enc = (text: string) => new TextEncoder().encode(text);
const full = (text: string) => parse(text, { schema: 'core', uniqueKeys: true, strict: true });

/** The fast path must never accept a file with a value the authoritative parser would read differently. */
describe('parsePlainMapping agrees with the positional parser', () => {
  it.each([
    'yes',
    'on',
    'No',
    '~',
    'null',
    'Null',
    'NULL',
    '',
    'true',
    'True',
    'TRUE',
    'tRUE',
    'false',
    '0o17',
    '017',
    '0x1F',
    '-0x1',
    '+0o7',
    '0b101',
    '1_000',
    '1__0',
    '+1',
    '-0',
    '00',
    '08',
    '0o8',
    '1e3',
    '12e03',
    '1e',
    '.5',
    '0.',
    '1.0',
    '.inf',
    '-.INF',
    '+.Inf',
    '.NaN',
    '.nan',
    '1,000',
    '2026-01-01',
    '2026-01-01T00:00:00Z',
    '1:20',
    '9007199254740993',
    '"10.2"',
    "'it''s'",
    '"\\u00e9\\x41\\t"',
    'x #comment',
    '[1, 2]',
    '{b: c}',
    '=',
    '<<',
    '-',
    'a b c',
  ])('a: %s', (scalar) => {
    const text = `a: ${scalar}\n`;
    let expected: unknown;
    try {
      expected = full(text);
    } catch {
      expected = undefined;
    }
    const fast = parsePlainMapping(enc(text));
    if (fast !== undefined) expect(fast).toEqual(expected);
  });

  it('agrees on block scalars, nesting and comments', () => {
    const text = 'a: |\n  x\n  y\nb: >-\n  x\n  y\nc:\n  - d\n  - {e: 1}\n# end\n';
    expect(parsePlainMapping(enc(text))).toEqual(full(text));
  });

  it('agrees on every sample device and on generated benchmark devices', () => {
    let accepted = 0;
    for (const dc of readdirSync(join(PROJECT_ROOT, 'inventory'))) {
      for (const file of readdirSync(join(PROJECT_ROOT, 'inventory', dc))) {
        const text = readFileSync(join(PROJECT_ROOT, 'inventory', dc, file), 'utf8');
        const fast = parsePlainMapping(enc(text));
        if (fast) {
          accepted++;
          expect(fast).toEqual(full(text));
        }
      }
    }
    for (let i = 0; i < 50; i++) {
      const text = deviceYaml(i, 'dc01', Date.parse('2026-11-23T00:00:00Z'));
      expect(parsePlainMapping(enc(text))).toEqual(full(text));
    }
    expect(accepted).toBeGreaterThanOrEqual(8);
  });

  it.each([
    ['anchors and aliases', 'a: &x [1]\nb: *x\n'],
    ['tags', 'a: !!str 5\n'],
    ['duplicate keys', 'a: 1\na: 2\n'],
    ['several documents', 'a: 1\n---\nb: 2\n'],
    ['a list', '- a\n'],
    ['an empty file', ''],
    ['a BOM', '\uFEFFa: 1\n'],
    ['directives', '%YAML 1.2\n---\na: 1\n'],
  ])('leaves %s to the full parser', (_name, text) => {
    expect(parsePlainMapping(enc(text))).toBeUndefined();
  });

  it('leaves non-UTF-8 to the full parser', () => {
    expect(parsePlainMapping(Uint8Array.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]))).toBeUndefined();
  });
});
