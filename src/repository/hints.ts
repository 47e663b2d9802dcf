/**
 * Second sentences for problems, in the words the user wrote: an unquoted `os_version: 10.10` is quoted back as
 * `10.10` (not the number 10.1 YAML made of it), a duplicate key is named with the line it first appears on, an
 * unknown field gets the field it stands for (`hostname` → `common_name`). What was written is read from the
 * file's text at the problem's line and column, never from the parser's internals, and only for files that have
 * problems.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parse, parseDocument } from 'yaml';
import { type Finding, type Locator, placeFindings } from '../model/findings.ts';
import { fieldPath, type Problem } from '../model/problems.ts';
import { closest } from '../util/suggest.ts';

/**
 * What people write for a field, from the tools they know (certbot's and lego's domains, step's SANs, an
 * inventory's hostname and ip), → the field it means. Suggested only where that field exists.
 */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  hostname: 'common_name',
  host: 'common_name',
  fqdn: 'common_name',
  cn: 'common_name',
  domain: 'common_name',
  ca: 'certificate_authority',
  authority: 'certificate_authority',
  acme_ca: 'certificate_authority',
  san: 'subject_alternative_names',
  sans: 'subject_alternative_names',
  alt_names: 'subject_alternative_names',
  alternative_names: 'subject_alternative_names',
  domains: 'subject_alternative_names',
  ip: 'ip_address',
  ip_addr: 'ip_address',
  ipaddress: 'ip_address',
  address: 'ip_address',
  dc: 'data_center',
  platform: 'host_platform',
  os: 'os_version',
  version: 'os_version',
  model: 'device_model',
};

/** The known field an unknown one most likely means: an alias people use, else the closest spelling. */
export function suggestField(typed: string, known: readonly string[]): string | undefined {
  const lower = typed.toLowerCase().replace(/-/g, '_');
  const alias = Object.hasOwn(FIELD_ALIASES, lower) ? FIELD_ALIASES[lower] : undefined;
  if (alias && known.includes(alias)) return alias;
  return closest(typed, known);
}

/** A scalar YAML read as a number, boolean or null where a string belongs. */
export interface ScalarHint {
  parsed: number | boolean | null;
  /** The value may be a secret pasted in the wrong place: never repeat it. */
  sensitive: boolean;
}

/** A finding whose message can quote the file's text once it is placed. */
export interface QuotableFinding extends Finding {
  scalar?: ScalarHint;
}

function whatYamlRead(value: number | boolean | null): string {
  if (value === null) return 'null';
  return `the ${typeof value} ${String(value)}`;
}

/** The message without the file's text (a value that came from somewhere else, or text that could not be read). */
function scalarFallback(hint: ScalarHint): string {
  if (hint.parsed === null) return 'must be a string, found nothing (null); write a value';
  const found = hint.sensitive ? `a ${typeof hint.parsed}` : whatYamlRead(hint.parsed);
  return `must be a string, found ${found}; write the value in quotes`;
}

/** `must be a string` for a value YAML did not read as one; the message quotes the text once the finding is placed. */
export function scalarTypeFinding(
  path: (string | number)[],
  parsed: number | boolean | null,
  sensitive: boolean,
): QuotableFinding {
  const scalar = { parsed, sensitive };
  return { severity: 'error', path, message: scalarFallback(scalar), at: 'value', scalar };
}

/** The message quoting what was written (`raw`, the plain scalar as it stands in the file; '' for nothing). */
export function scalarMessage(raw: string, hint: ScalarHint): string {
  if (raw === '')
    return 'must be a string; the value is empty, which YAML reads as null: write one or remove the field';
  if (hint.sensitive)
    return `must be a string; YAML reads the unquoted value as ${hint.parsed === null ? 'null' : `a ${typeof hint.parsed}`}: write it in quotes`;
  return `must be a string; you wrote ${raw} unquoted, which YAML reads as ${whatYamlRead(hint.parsed)}: write ${JSON.stringify(raw)}`;
}

/** The file's lines, split once per file (only files with problems get here). */
class SourceLines {
  private lines: string[] | undefined;
  constructor(private readonly text: string) {}

  line(n: number): string | undefined {
    this.lines ??= this.text.replace(/^\uFEFF/, '').split(/\r?\n/);
    return this.lines[n - 1];
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || (typeof a === 'number' && typeof b === 'number' && a === b);
}

/**
 * The plain scalar written at line/column, when it is what YAML read as `parsed`: '' for an empty value, undefined
 * when the text there is something else (quoted, or another node), so the message then keeps its fallback.
 */
function writtenScalar(source: SourceLines, line: number, column: number, hint: ScalarHint) {
  const text = source.line(line);
  if (text === undefined) return undefined;
  const rest = text.slice(column - 1);
  if (hint.parsed === null && /^[^\s:#]+:(\s+#.*)?\s*$/.test(rest)) return ''; // pointed at `key:` with no value
  // A number, boolean or null never holds a space, a comma, a bracket or a comment.
  const raw = (/^[^\s,[\]{}#]+/.exec(rest)?.[0] ?? '').replace(/:$/, '');
  if (raw === '') return hint.parsed === null ? '' : undefined;
  try {
    return sameValue(parse(raw, { schema: 'core' }), hint.parsed) ? raw : undefined;
  } catch {
    return undefined;
  }
}

/**
 * placeFindings, and then the messages of quotable findings rewritten from what `text` (the file) holds at their
 * position. Findings come back in order, one problem each.
 */
export function placeFindingsQuoting(
  file: string,
  locator: Locator,
  findings: readonly QuotableFinding[],
  text: string | (() => string),
): Problem[] {
  const problems = placeFindings(file, locator, findings);
  let source: SourceLines | undefined;
  findings.forEach((finding, i) => {
    if (!finding.scalar) return;
    source ??= new SourceLines(typeof text === 'string' ? text : text());
    const problem = problems[i]!;
    const raw = writtenScalar(source, problem.line, problem.column, finding.scalar);
    if (raw !== undefined) problem.message = scalarMessage(raw, finding.scalar);
  });
  return problems;
}

/** The parser's message for a duplicate key when it cannot say which (see describeYamlIssue in model/yaml-source.ts). */
export function isUnnamedDuplicateKey(problem: Problem): boolean {
  return problem.field === '' && problem.message.startsWith('duplicate key:');
}

interface KeyPlace {
  path: (string | number)[];
  firstLine: number;
}

/** Every repeated key in `text`, by the offset of its second (third, …) occurrence. */
function repeatedKeys(text: string): Map<number, KeyPlace> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, schema: 'core', uniqueKeys: false, merge: false });
  const found = new Map<number, KeyPlace>();
  const walk = (node: unknown, path: (string | number)[]) => {
    if (isMap(node)) {
      const first = new Map<string, number>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        const start = (pair.key as Node | null)?.range?.[0];
        if (key !== undefined && start !== undefined) {
          const earlier = first.get(key);
          if (earlier === undefined) first.set(key, start);
          else found.set(start, { path: [...path, key], firstLine: lines.linePos(earlier).line });
        }
        walk(pair.value, key === undefined ? path : [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item, [...path, i]);
      });
    }
  };
  walk(doc.contents, []);
  return found;
}

function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return -1;
    offset = next + 1;
  }
  return offset + column - 1;
}

/**
 * The parser's problems with each duplicate key named (field and message) along with the line it first appears
 * on. `text` is the file, read only when there is such a problem.
 */
export function nameDuplicateKeys(problems: readonly Problem[], text: string | (() => string)): Problem[] {
  if (!problems.some(isUnnamedDuplicateKey)) return [...problems];
  const source = (typeof text === 'string' ? text : text()).replace(/^\uFEFF/, '');
  const repeated = repeatedKeys(source);
  return problems.map((problem) => {
    if (!isUnnamedDuplicateKey(problem)) return problem;
    const place = repeated.get(offsetOf(source, problem.line, problem.column));
    if (!place) return problem;
    const key = String(place.path[place.path.length - 1]);
    return {
      ...problem,
      field: fieldPath(place.path),
      message: `duplicate key "${key}" (first on line ${place.firstLine}): a mapping holds each key once; keep one of them`,
    };
  });
}

/** A list as YAML's flow form, each item plain when YAML reads it back as the same string, else quoted. */
export function flowList(items: readonly string[]): string {
  const plain = (item: string) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@/-]*$/.test(item)) return false;
    try {
      return parse(item, { schema: 'core' }) === item;
    } catch {
      return false;
    }
  };
  return `[${items.map((item) => (plain(item) ? item : JSON.stringify(item))).join(', ')}]`;
}

/** Fields that list names: a string of them is split at commas and spaces. */
const NAME_LISTS = new Set(['subject_alternative_names', 'shares_names_with', 'suffixes']);

/** `a.example.com, b.example.com` written where a list belongs → the message suggesting the list form. */
export function listMessage(field: string, written: string, sensitive: boolean): string {
  if (sensitive)
    return 'must be a list, found a string; write it as a list: [first, second] or one "- item" per line';
  const items = written
    .split(NAME_LISTS.has(field) ? /[\s,]+/ : /\s*,\s*/)
    .map((s) => s.trim())
    .filter(Boolean);
  const shown = written.length > 80 ? `${written.slice(0, 77)}…` : written;
  return `must be a list; you wrote ${shown} as one string: write ${flowList(items.length > 0 ? items : [written])}`;
}
