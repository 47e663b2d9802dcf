import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8, parseYamlMapping } from '../../src/model/yaml-source.ts';

const enc = (text: string) => new TextEncoder().encode(text);

describe('parseYamlMapping', () => {
  it('parses a mapping and locates keys and values by path', () => {
    const result = parseYamlMapping('f.yaml', enc('a: 1\nb:\n  c: [x, y]\n  d: "z"\n'), 1000);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toEqual({ a: 1, b: { c: ['x', 'y'], d: 'z' } });
    expect(result.source.locate(['b', 'd'])).toEqual({ line: 4, column: 3 });
    expect(result.source.locate(['b', 'd'], 'value')).toEqual({ line: 4, column: 6 });
    expect(result.source.locate(['b', 'c', 1])).toEqual({ line: 3, column: 10 });
    // A missing field resolves to the deepest part that exists.
    expect(result.source.locate(['b', 'missing'])).toEqual({ line: 2, column: 1 });
  });

  it('keeps YAML 1.2 core types: yes, on and dates stay strings', () => {
    const result = parseYamlMapping('f.yaml', enc('a: yes\nb: on\nc: 2026-01-01\n'), 1000);
    expect(result.ok && result.value).toEqual({ a: 'yes', b: 'on', c: '2026-01-01' });
  });

  it.each([
    ['duplicate keys', 'a: 1\nb: 2\na: 3\n', 3, /duplicate key/],
    ['syntax error', 'a: [1, 2\nb: 3\n', 2, /YAML syntax/],
    ['several documents', 'a: 1\n---\nb: 2\n', 2, /several YAML documents/],
    ['a list', '- a\n- b\n', 1, /found a list/],
    ['a scalar', 'hello\n', 1, /found a single value/],
    ['empty file', '', 1, /found an empty document/],
    ['unknown tag', 'a: !!binary aGVsbG8=\n', 1, /tag/],
    ['custom tag', 'a: !js/function x\n', 1, /tag/],
  ])('rejects %s with a position', (_name, text, line, message) => {
    const result = parseYamlMapping('f.yaml', enc(text), 1000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]!.line).toBe(line);
    expect(result.problems[0]!.message).toMatch(message);
  });

  it('stops an alias bomb without expanding it', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const result = parseYamlMapping('bomb.yaml', enc(`${levels.join('\n')}\n`), 100_000);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]!.message).toMatch(/alias bomb/);
  });

  it('rejects files over the size cap, non-UTF-8, UTF-16 and NUL bytes', () => {
    const big = parseYamlMapping('f.yaml', enc(`a: "${'x'.repeat(200)}"\n`), 100);
    expect(!big.ok && big.problems[0]!.message).toMatch(/limit is 100 bytes/);
    const latin1 = parseYamlMapping(
      'f.yaml',
      Uint8Array.from([0x61, 0x3a, 0x0a, 0x62, 0x3a, 0x20, 0xe9, 0x0a]),
      100,
    );
    expect(!latin1.ok && latin1.problems[0]).toMatchObject({ line: 2, column: 4 });
    expect(!latin1.ok && latin1.problems[0]!.message).toMatch(/not valid UTF-8 \(byte 0xe9\)/);
    const utf16 = parseYamlMapping('f.yaml', Uint8Array.from([0xff, 0xfe, 0x61, 0x00]), 100);
    expect(!utf16.ok && utf16.problems[0]!.message).toMatch(/UTF-16/);
    const nul = parseYamlMapping('f.yaml', enc('a: 1\nb: \u0000\n'), 100);
    expect(!nul.ok && nul.problems[0]).toMatchObject({ line: 2, column: 4 });
  });
});

describe('firstInvalidUtf8', () => {
  it.each([
    [[0x61, 0x62], -1],
    [[0xc3, 0xa9], -1],
    [[0xe2, 0x82, 0xac], -1],
    [[0xf0, 0x9f, 0x94, 0x91], -1],
    [[0x61, 0xc3], 1],
    [[0xc0, 0xaf], 0], // overlong
    [[0xed, 0xa0, 0x80], 0], // surrogate
    [[0x61, 0x80], 1], // stray continuation
    [[0xf5, 0x80, 0x80, 0x80], 0],
  ])('%j → %i', (bytes, expected) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(expected);
  });
});
