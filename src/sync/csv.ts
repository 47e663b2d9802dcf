/**
 * CSV as spreadsheets and CMDBs export it (RFC 4180): fields separated by commas, quoted with " when they hold
 * commas, quotes ("" inside quotes) or line breaks; CRLF or LF line ends; an optional UTF-8 byte order mark.
 */

export interface CsvRecord {
  /** 1-based line the record starts on (a quoted field may span lines). */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/** Every record of `text`, blank lines left out. */
export function parseCsv(text: string): CsvRecord[] {
  const body = text.replace(/^\uFEFF/, '');
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  /** The current field began with a quote (so what follows its closing quote must be a separator). */
  let wasQuoted = false;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) records.push({ line: start, fields });
    fields = [];
    field = '';
    wasQuoted = false;
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"') {
        if (body[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '' || wasQuoted) throw new CsvSyntaxError(line, 'a quote inside an unquoted field');
      quoted = true;
      wasQuoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      wasQuoted = false;
    } else if (c === '\r' && body[i + 1] === '\n') {
      // CRLF: the \n ends the record.
    } else if (c === '\n') {
      endRecord();
      line++;
      start = line;
    } else {
      if (wasQuoted) throw new CsvSyntaxError(line, 'text after a closing quote');
      field += c;
    }
  }
  if (quoted) throw new CsvSyntaxError(start, 'a quoted field is not closed');
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord();
  return records;
}

/** The records after the header as objects keyed by the header's names; `line` is where each starts. */
export function csvRows(text: string): { line: number; values: Record<string, string> }[] {
  const [header, ...records] = parseCsv(text);
  if (!header) return [];
  const names = header.fields.map((n) => n.trim());
  return records.map((record) => {
    if (record.fields.length > names.length)
      throw new CsvSyntaxError(
        record.line,
        `${record.fields.length} fields, but the header names ${names.length} columns`,
      );
    const values: Record<string, string> = {};
    names.forEach((name, i) => {
      if (name !== '') values[name] = record.fields[i] ?? '';
    });
    return { line: record.line, values };
  });
}
