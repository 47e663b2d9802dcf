/** A finding about an input file, with the place a person has to look at. Lines and columns are 1-based. */
export interface Problem {
  severity: 'error' | 'warning';
  /** Path relative to the repository root, forward slashes. */
  file: string;
  line: number;
  column: number;
  /** Dotted field path (`connection.ssh_host_key`, `subject_alternative_names[2]`), empty for the whole file. */
  field: string;
  message: string;
}

export function fieldPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

export function compareProblems(a: Problem, b: Problem): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column;
}

export function countBySeverity(problems: readonly Problem[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const p of problems) if (p.severity === 'error') errors++;
  return { errors, warnings: problems.length - errors };
}

/** `file:line:col: error: field: message`, the shape compilers use, so editors and terminals link it. */
export function formatProblemText(p: Problem): string {
  const field = p.field ? `${p.field}: ` : '';
  return `${p.file}:${p.line}:${p.column}: ${p.severity}: ${field}${p.message}`;
}

// Workflow-command escaping, as @actions/core does it: data escapes % CR LF, properties also : and ,.
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** A GitHub Actions annotation: `::error file=…,line=…,col=…,title=…::message`. */
export function formatProblemGithub(p: Problem): string {
  const title = p.field ? `${p.field}` : 'file';
  const props = `file=${escapeProperty(p.file)},line=${p.line},col=${p.column},title=${escapeProperty(title)}`;
  return `::${p.severity} ${props}::${escapeData(p.message)}`;
}
