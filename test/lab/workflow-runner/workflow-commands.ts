import { WorkflowError } from './expressions.ts';

/** An annotation as the check run lists it: `::error`, `::warning` or `::notice` from a step's output. */
export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  /** The step that printed it (its `name:`, else its action or `run`). */
  step: string;
  file?: string;
  line?: number;
  col?: number;
  endLine?: number;
  endColumn?: number;
  title?: string;
}

const ANNOTATION_LEVELS = new Set(['error', 'warning', 'notice']);
const NUMBER_PROPERTIES = { line: 'line', col: 'col', endline: 'endLine', endcolumn: 'endColumn' } as const;

// Data unescapes %0D %0A %25; properties also %3A %2C (actions/runner ActionCommand.cs, the mappings @actions/core
// escapes with in packages/core/src/command.ts).
const unescapeData = (text: string) =>
  text.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
const unescapeProperty = (text: string) => unescapeData(text.replace(/%3A/gi, ':').replace(/%2C/gi, ','));

interface Command {
  name: string;
  properties: Record<string, string>;
  data: string;
}

/**
 * `::name key=value,key=value::data` as the runner reads a line (actions/runner ActionCommand.cs TryParseV2): after
 * leading spaces, `::`, the name up to a space, properties split on `,` then the first `=` (keys case-insensitive),
 * the data after the second `::`. Anything else is an ordinary log line.
 */
export function parseCommand(line: string): Command | undefined {
  const text = line.trimStart();
  if (!text.startsWith('::')) return undefined;
  const end = text.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = text.slice(2, end);
  const space = info.indexOf(' ');
  const name = space < 0 ? info : info.slice(0, space);
  const properties: Record<string, string> = {};
  if (space > 0)
    for (const pair of info
      .slice(space + 1)
      .trim()
      .split(',')
      .filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at > 0 && at < pair.length - 1)
        properties[pair.slice(0, at).toLowerCase()] = unescapeProperty(pair.slice(at + 1));
    }
  return { name, properties, data: unescapeData(text.slice(end + 2)) };
}

/**
 * What a job keeps from its steps' workflow commands (docs.github.com/en/actions/reference/workflows-and-actions/
 * workflow-commands): the annotations, the masks (`::add-mask::`, and every secret the job can read), and the
 * log with `::group::` / `::endgroup::` taken out. `::stop-commands::TOKEN` stops processing until `::TOKEN::`.
 */
export class WorkflowCommands {
  readonly annotations: Annotation[] = [];
  private readonly masks = new Set<string>();
  private stopToken: string | undefined;

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.addMask(secret);
  }

  addMask(value: string): void {
    // The runner masks each line of a multi-line value too; an empty value masks nothing.
    for (const part of [value, ...value.split(/\r?\n/)]) if (part.trim()) this.masks.add(part);
  }

  /** Every mask replaced by `***`, the longest first (so a mask inside another does not leave a fragment). */
  mask(text: string): string {
    let out = text;
    for (const value of [...this.masks].sort((a, b) => b.length - a.length))
      out = out.split(value).join('***');
    return out;
  }

  /** One line of a step's stdout or stderr: the line as the log shows it, or undefined for a command it hides. */
  line(raw: string, step: string): string | undefined {
    const command = parseCommand(raw);
    if (!command) return this.mask(raw);
    if (this.stopToken !== undefined) {
      if (command.name === this.stopToken) this.stopToken = undefined;
      return this.stopToken === undefined ? undefined : this.mask(raw);
    }
    if (command.name === 'add-mask') {
      this.addMask(command.data);
      return undefined;
    }
    if (command.name === 'stop-commands') {
      this.stopToken = command.data;
      return undefined;
    }
    if (command.name === 'group') return this.mask(`▶ ${command.data}`);
    if (command.name === 'endgroup' || command.name === 'debug') return undefined;
    if (ANNOTATION_LEVELS.has(command.name)) {
      this.annotations.push(this.annotation(command, step));
      return this.mask(`${command.name[0]!.toUpperCase()}${command.name.slice(1)}: ${command.data}`);
    }
    return this.mask(raw);
  }

  private annotation(command: Command, step: string): Annotation {
    const annotation: Annotation = {
      level: command.name as Annotation['level'],
      message: this.mask(command.data),
      step,
    };
    const { file, title } = command.properties;
    if (file) annotation.file = file;
    if (title) annotation.title = this.mask(title);
    for (const [key, field] of Object.entries(NUMBER_PROPERTIES)) {
      const value = Number(command.properties[key]);
      if (command.properties[key] !== undefined && Number.isInteger(value)) annotation[field] = value;
    }
    return annotation;
  }
}

/**
 * An environment file (GITHUB_OUTPUT, GITHUB_ENV) as the runner reads it (actions/runner FileCommandManager.cs;
 * docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#multiline-strings): `name=value` on
 * one line, or `name<<DELIMITER`, the value's lines, then `DELIMITER` alone on a line; blank lines are skipped.
 * A malformed file fails the step, as on GitHub ("Unable to process file command 'output' successfully." then
 * "Invalid value. Matching delimiter not found 'EOF'", as public runs show it). `command` is `output` or `env`.
 */
export function parseEnvironmentFile(text: string, command: string): Record<string, string> {
  const what = `Unable to process file command '${command}' successfully`;
  const values: Record<string, string> = {};
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const equals = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = line.slice(0, equals);
      if (!name) throw new WorkflowError(`${what}. Invalid format '${line}'. Name must not be empty`);
      values[name] = line.slice(equals + 1);
      continue;
    }
    if (heredoc <= 0 || heredoc + 2 >= line.length)
      throw new WorkflowError(`${what}. Invalid format '${line}'`);
    const name = line.slice(0, heredoc);
    const delimiter = line.slice(heredoc + 2);
    const end = lines.indexOf(delimiter, i + 1);
    if (end < 0)
      throw new WorkflowError(`${what}. Invalid value. Matching delimiter not found '${delimiter}'`);
    values[name] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return values;
}

/** GITHUB_PATH: one directory a line; each is put in front of PATH for the later steps (the last line first). */
export function parsePathFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter(Boolean)
    .reverse();
}
