import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { parsePlainMapping } from './fast-yaml.ts';
import type { Problem } from './problems.ts';

/** Anchors/aliases are legal YAML, but a file that expands more than this is an attack, not a device. */
const MAX_ALIAS_COUNT = 100;

export interface Position {
  line: number;
  column: number;
}

interface Positional {
  doc: Document.Parsed;
  lines: LineCounter;
}

/** How many files this process has parsed with positions (OTTR_TIMINGS and the tests report it). */
export const yamlParseStats = { positional: 0 };

function positionalParse(text: string): Positional {
  yamlParseStats.positional++;
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    schema: 'core',
    uniqueKeys: true,
    merge: false,
    strict: true,
    prettyErrors: false,
    keepSourceTokens: false,
  });
  return { doc, lines };
}

/**
 * A parsed YAML file that can still point at the line of any field. A file the fast parser read has no
 * positions yet: the positional parse runs on the first `locate` (or `doc`), so only files with a finding
 * that needs a position pay for it.
 */
export class YamlSource {
  private positional: Positional | undefined;

  constructor(
    readonly file: string,
    private readonly bytes: Uint8Array,
    positional?: Positional,
  ) {
    this.positional = positional;
  }

  /** Whether positions have been computed (tests and the benchmark check that clean files never are). */
  get hasPositions(): boolean {
    return this.positional !== undefined;
  }

  get doc(): Document.Parsed {
    return this.parsed().doc;
  }

  private parsed(): Positional {
    this.positional ??= positionalParse(utf8.decode(this.bytes));
    return this.positional;
  }

  private position(offset: number): Position {
    const { line, col } = this.parsed().lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Where `path` is written: the key for 'key', the value for 'value'. A path that does not exist
   * resolves to the deepest part that does (for a missing field: the mapping that lacks it).
   */
  locate(path: readonly (string | number)[], target: 'key' | 'value' = 'key'): Position {
    let node: unknown = this.doc.contents;
    const rootRange = (node as Node | null)?.range;
    let best: Position = rootRange ? this.position(rootRange[0]) : { line: 1, column: 1 };
    for (let i = 0; i < path.length; i++) {
      const segment = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (!pair) return best;
        const keyRange = (pair.key as Node | null)?.range;
        const valueRange = (pair.value as Node | null)?.range;
        const range = last && target === 'value' ? (valueRange ?? keyRange) : (keyRange ?? valueRange);
        if (range) best = this.position(range[0]);
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const range = (node.items[segment] as Node | undefined)?.range;
        if (!range) return best;
        best = this.position(range[0]);
        node = node.items[segment];
      } else {
        return best;
      }
    }
    return best;
  }
}

export type YamlResult =
  | { ok: true; value: Record<string, unknown>; source: YamlSource }
  | { ok: false; problems: Problem[] };

function fileProblem(file: string, message: string, line = 1, column = 1): Problem {
  return { severity: 'error', file, line, column, field: '', message };
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let extra: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      extra = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let code = b & (0xff >> (extra + 2));
    for (let k = 1; k <= extra; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += extra + 1;
  }
  return -1;
}

function lineAndColumnOfByte(bytes: Uint8Array, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Reads one YAML file that must hold a single mapping. Every way the input can be wrong becomes a
 * Problem with a position: too big, not UTF-8, binary, YAML syntax, duplicate keys, unknown tags,
 * alias bombs, several documents, or a root that is not a mapping.
 */
export function parseYamlMapping(file: string, bytes: Uint8Array, maxBytes: number): YamlResult {
  if (bytes.length > maxBytes) {
    return {
      ok: false,
      problems: [fileProblem(file, `file is ${bytes.length} bytes; the limit is ${maxBytes} bytes`)],
    };
  }
  // A plain mapping (no anchors, tags or directives) in valid UTF-8 that the fast parser reads is read the same
  // way by the positional parser (test/unit/fast-yaml.test.ts); its positions wait until a finding asks for one.
  const plain = parsePlainMapping(bytes);
  if (plain) return { ok: true, value: plain, source: new YamlSource(file, bytes) };
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { ok: false, problems: [fileProblem(file, 'file is UTF-16; save it as UTF-8')] };
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const at = lineAndColumnOfByte(bytes, bad);
    const byte = bytes[bad]!.toString(16).padStart(2, '0');
    return {
      ok: false,
      problems: [
        fileProblem(file, `not valid UTF-8 (byte 0x${byte}); save the file as UTF-8`, at.line, at.column),
      ],
    };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const at = lineAndColumnOfByte(bytes, nul);
    return {
      ok: false,
      problems: [fileProblem(file, 'contains a NUL byte; this is not a text file', at.line, at.column)],
    };
  }
  const { doc, lines } = positionalParse(utf8.decode(bytes));
  const yamlProblems: Problem[] = [];
  for (const issue of [...doc.errors, ...doc.warnings]) {
    const { line, col } = lines.linePos(issue.pos[0]);
    yamlProblems.push(fileProblem(file, describeYamlIssue(issue.code, issue.message), line, col));
  }
  // Explicit tags (!!binary, !!js/function, !custom) have no place in these files; !!str is harmless.
  visit(doc, {
    Node(_key, node) {
      if (node.tag && node.tag !== 'tag:yaml.org,2002:str' && node.range) {
        const { line, col } = lines.linePos(node.range[0]);
        const tag = node.tag.replace(/^tag:yaml\.org,2002:/, '!!');
        yamlProblems.push(fileProblem(file, `unsupported YAML tag ${tag}: write a plain value`, line, col));
      }
    },
  });
  if (yamlProblems.length > 0) return { ok: false, problems: yamlProblems };

  const source = new YamlSource(file, bytes, { doc, lines });
  if (!isMap(doc.contents)) {
    const what =
      doc.contents === null ? 'an empty document' : isSeq(doc.contents) ? 'a list' : 'a single value';
    const at = source.locate([]);
    return {
      ok: false,
      problems: [
        fileProblem(file, `expected a mapping of fields (key: value), found ${what}`, at.line, at.column),
      ],
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = (error as Error).message;
    const reason = /alias/i.test(message)
      ? `aliases expand too much (more than ${MAX_ALIAS_COUNT} references); this looks like an alias bomb`
      : `cannot read the document: ${message}`;
    return { ok: false, problems: [fileProblem(file, reason)] };
  }
  return { ok: true, value: value as Record<string, unknown>, source };
}

function describeYamlIssue(code: string, message: string): string {
  // The yaml package's messages carry their own "at line x, column y" tail; we report the position separately.
  const plain = message
    .replace(/ at line \d+, column \d+:?[\s\S]*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  switch (code) {
    case 'DUPLICATE_KEY':
      // The parser does not say which key; repository/hints.ts names it from the file's text at this position,
      // recognising the message by its "duplicate key:" start.
      return `duplicate key: ${plain.replace(/^Map keys must be unique;?\s*/i, '') || 'a key appears twice in one mapping; keep one'}`;
    case 'MULTIPLE_DOCS':
      return 'the file holds several YAML documents (---); a device file holds exactly one';
    case 'TAG_RESOLVE_FAILED':
      return `unsupported YAML tag: ${plain}`;
    default:
      return `YAML syntax: ${plain}`;
  }
}
