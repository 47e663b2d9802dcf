import { isUtf8 } from 'node:buffer';
import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';

/**
 * The YAML 1.2.2 core schema (spec §10.3.2), written out so js-yaml resolves plain scalars exactly as the
 * `yaml` package's 'core' schema does: js-yaml's own CORE_SCHEMA also reads 0b…, signed hex and `_` separators
 * as numbers, which YAML 1.2 does not.
 */
const CORE_1_2 = FAILSAFE_SCHEMA.extend({
  implicit: [
    new Type('tag:yaml.org,2002:null', {
      kind: 'scalar',
      resolve: (data: string | null) => data === null || data === '' || /^(?:~|null|Null|NULL)$/.test(data),
      construct: () => null,
    }),
    new Type('tag:yaml.org,2002:bool', {
      kind: 'scalar',
      resolve: (data: string) => /^(?:true|True|TRUE|false|False|FALSE)$/.test(data),
      construct: (data: string) => data === 'true' || data === 'True' || data === 'TRUE',
    }),
    new Type('tag:yaml.org,2002:int', {
      kind: 'scalar',
      resolve: (data: string) => /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/.test(data),
      construct: (data: string) =>
        data.startsWith('0o')
          ? Number.parseInt(data.slice(2), 8)
          : data.startsWith('0x')
            ? Number.parseInt(data.slice(2), 16)
            : Number(data),
    }),
    new Type('tag:yaml.org,2002:float', {
      kind: 'scalar',
      resolve: (data: string) =>
        /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/.test(
          data,
        ),
      construct: (data: string) => {
        if (/\.(?:inf|Inf|INF)$/.test(data)) return data.startsWith('-') ? -Infinity : Infinity;
        if (/^\.(?:nan|NaN|NAN)$/.test(data)) return Number.NaN;
        return Number(data);
      },
    }),
  ],
});

/** Characters that can start anchors, aliases, tags or directives, or are never in a clean file. */
const NEEDS_FULL_PARSER = /[&*!%\0\uFEFF]/;

/**
 * The fast path for the common case, a clean file: a plain mapping, parsed ~8x faster than the positional
 * parser. Returns undefined whenever the file uses anything beyond plain YAML (anchors, aliases, tags,
 * directives), is not UTF-8, or fails to parse: the caller then uses the full parser, which is authoritative
 * and reports positions. Callers also fall back when the value has any finding.
 */
export function parsePlainMapping(bytes: Uint8Array): Record<string, unknown> | undefined {
  if (!isUtf8(bytes)) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (NEEDS_FULL_PARSER.test(text)) return undefined;
  let value: unknown;
  try {
    value = load(text, { schema: CORE_1_2, json: false });
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}
